"""Dev faults (only on a server started with ``--dev``): fail the way real municipal
servers did in 2023–24, so the center's subject check can be seen to work.

The center asks for a fault per request with the ``Konbini-Dev-Fault`` header
(``center.dev_api``: ``municipalities_wrong_person``, ``municipalities_foreign_page``);
only the center's certificate reaches this API, and a server without ``--dev``
ignores the header.

- ``wrong-person``: every copy is another resident's certificate of the same type,
  while the answer still states the requested person (the Yokohama case).
- ``foreign-page``: page 2 of a certificate of several pages is a page of another
  person's certificate, with the same number (the Tokushima case); a certificate of
  one page is left as it is.

Each misrendered page carries the marks of the data it was drawn from, exactly as a
mixed-up real server would: that is what the center must catch."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import pikepdf

from konbini.problems import Problem
from konbini.wire import DEV_FAULT_HEADER, FAMILY_REGISTER_TYPES, CertificateType

from .eligibility import type_refusal

if TYPE_CHECKING:
    from .issuance import Holder, Issuer

log = logging.getLogger(__name__)

FAULT_HEADER = DEV_FAULT_HEADER
WRONG_PERSON, FOREIGN_PAGE = "wrong-person", "foreign-page"
FAULTS = frozenset({WRONG_PERSON, FOREIGN_PAGE})
# Options that name the holder's own household members or 戸籍 persons cannot apply to
# another person.
_PERSONAL_OPTIONS = ("members", "person")

Render = Callable[[], bytes]


async def other_holders(issuer: Issuer, cert_type: CertificateType, holder: Holder,
                        day: date) -> AsyncIterator[Holder]:
    """Residents of this municipality, outside the holder's household and 戸籍, who
    could have a certificate of ``cert_type``."""
    own_household = holder.household.household_id if holder.household else None
    own_register = holder.facts.koseki.register_id if holder.facts.koseki else None
    for code in await issuer.register.resident_codes():
        if code == holder.resident_code:
            continue
        try:
            other = await issuer.holder(code, day)
        except Problem:
            continue
        if other.household is not None and other.household.household_id == own_household:
            continue
        if (cert_type in FAMILY_REGISTER_TYPES and other.facts.koseki is not None
                and other.facts.koseki.register_id == own_register):
            continue
        if type_refusal(cert_type.value, other.facts) is None:
            yield other


async def misrender(issuer: Issuer, fault: str, cert_type: CertificateType, holder: Holder,
                    options: dict[str, Any], numbers: list[str], day: date,
                    renders: list[Render]) -> list[Render]:
    """The renders of a faulty server; ``renders`` are the right ones."""
    from .issuance import _render_locked  # the module that imports this one

    others_options = {k: v for k, v in options.items() if k not in _PERSONAL_OPTIONS}
    found = None
    async for other in other_holders(issuer, cert_type, holder, day):
        try:
            found = await issuer._documents(cert_type, other, others_options, numbers, day)
            break
        except Problem:  # e.g. no record of the asked-for 年度 or disaster
            continue
    if found is None:
        log.warning("dev fault %s: no other resident has a %s; issuing correctly",
                    fault, cert_type.value)
        return renders
    render, inputs, _ = found
    wrong = [lambda value=value: _render_locked(render, value) for value in inputs]
    if fault == WRONG_PERSON:
        return wrong
    return [lambda right=right, foreign=foreign: _with_foreign_page(right(), foreign())
            for right, foreign in zip(renders, wrong, strict=True)]


def _with_foreign_page(right: bytes, foreign: bytes) -> bytes:
    """``right`` with its page 2 taken from ``foreign`` (its page 2, or its only page)."""
    with pikepdf.open(io.BytesIO(right)) as document, \
            pikepdf.open(io.BytesIO(foreign)) as other:
        if len(document.pages) < 2:
            return right
        document.pages[1] = other.pages[min(1, len(other.pages) - 1)]
        out = io.BytesIO()
        document.save(out, deterministic_id=True)
        return out.getvalue()
