"""The center's subject check (交付対象者の確認, issue 14): before it adds the back page,
the center checks that a certificate is the cardholder's and that every page is
of that one certificate.

The municipal server states, beside each PDF, whose it is (``subjects``, the
住民票コード of the persons on it), its type, its page count and its number; and
every page carries an invisible mark drawn from the very input it was rendered
from (``konbini.subject_binding``). The check (``check_certificate``, pure) holds
the statement against the session and the marks against the statement:

- the cardholder is the subject (住民票記載事項証明書, 印鑑登録証明書, 税証明,
  戸籍個人事項証明書, 戸籍の附票), or among the persons listed (罹災証明書 of the
  dwelling, 戸籍全部事項証明書 of the registered 本籍), or, for a 住民票の写し, of the
  household the members printed are chosen from (stated as ``household``), and for a
  個人事項 or 附票 of another person of the holder's 戸籍, of that 戸籍
  (``family_register``);
- every page says the same certificate number, its place (m of n) and the same
  subjects, and the page count is the one stated.

A wrong person in the statement or on page 1 is a ``subject-mismatch``; a later
page that belongs elsewhere is a ``foreign-page`` (the Tokushima case)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pikepdf

from konbini.problems import Problem
from konbini.subject_binding import MARK_TAG, PageMark, subject_key, subject_tag
from konbini.wire import CertificateType

from .incidents import IncidentKind, record_incident

if TYPE_CHECKING:
    from .context import CenterContext

log = logging.getLogger(__name__)

# Types whose only subject is the cardholder; for the others the holder is one of them.
SOLE_SUBJECT_TYPES = frozenset({
    CertificateType.JUMINHYO_KISAI, CertificateType.INKAN, CertificateType.TAX_INCOME,
    CertificateType.TAX_ASSESSMENT, CertificateType.TAX_INCOME_ASSESSMENT,
    CertificateType.KOSEKI_KOJIN, CertificateType.KOSEKI_FUHYO,
})

# Of one person, who may be another of the holder's 戸籍 (option ``person``).
PERSON_OF_REGISTER_TYPES = frozenset({CertificateType.KOSEKI_KOJIN,
                                      CertificateType.KOSEKI_FUHYO})

SUBJECT_MISMATCH, FOREIGN_PAGE = "subject-mismatch", "foreign-page"


@dataclass(frozen=True, slots=True)
class Statement:
    """What the municipal server says of one certificate (its JSON answer)."""

    certificate_number: str
    cert_type: str
    pages: int
    subjects: tuple[str, ...]  # 住民票コード; held for this check only, never stored
    # 住民票の写し: the holder's household, of which the members printed are a part
    household: tuple[str, ...] = ()
    # 戸籍個人事項証明書, 附票: the persons of the holder's 戸籍, of whom the subject is one
    family_register: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, issued: dict[str, Any]) -> Statement:
        return cls(str(issued["certificate_number"]), str(issued.get("type", "")),
                   int(issued.get("pages", 0)), tuple(issued.get("subjects", ())),
                   tuple(issued.get("household", ())),
                   tuple(issued.get("family_register", ())))


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a certificate was refused: the incident kind, a machine detail code, and the
    page (1-based; 0 for the statement itself). No personal data."""

    kind: str  # SUBJECT_MISMATCH | FOREIGN_PAGE
    detail: str
    page: int = 0


class UnreadableMarks(ValueError):
    """The PDF cannot be read for its marks."""


def read_marks(pdf: bytes) -> list[list[PageMark]]:
    """The subject marks on each page of ``pdf`` (an empty list for an unmarked page)."""
    try:
        document = pikepdf.open(io.BytesIO(pdf))
    except (pikepdf.PdfError, ValueError) as exc:
        raise UnreadableMarks("not a readable PDF") from exc
    with document:
        try:
            return [_page_marks(page) for page in document.pages]
        except (pikepdf.PdfError, ValueError, TypeError, AttributeError) as exc:
            raise UnreadableMarks("a page cannot be read") from exc


def _page_marks(page: pikepdf.Page) -> list[PageMark]:
    marks = []
    for instruction in pikepdf.parse_content_stream(page, "BDC"):
        operands = instruction.operands
        if len(operands) != 2 or operands[0] != pikepdf.Name("/" + MARK_TAG):
            continue
        props = operands[1]
        if not isinstance(props, pikepdf.Dictionary):
            raise ValueError("a subject mark without its properties")
        marks.append(PageMark(
            certificate_number=str(props.No), cert_type=str(props.Type).lstrip("/"),
            page=int(props.Page), pages=int(props.Pages),
            # Written as hex strings (<9f…>): read back as their bytes.
            subjects=tuple(bytes(s).hex() for s in props.Subjects)))
    return marks


def expected_tags(secret: bytes, municipality_code: str, certificate_number: str,
                  resident_codes: Iterable[str]) -> frozenset[str]:
    key = subject_key(secret, municipality_code)
    return frozenset(subject_tag(key, certificate_number, code) for code in resident_codes)


def check_certificate(statement: Statement, pages: Sequence[Sequence[PageMark]], *,
                      ordered_type: str, holder: str, tags: frozenset[str],
                      holder_tag: str) -> Finding | None:
    """None when the certificate is the holder's and all of a piece; else why not.

    ``holder``: the session's 住民票コード; ``tags``: the digests of the stated subjects
    (``expected_tags``); ``holder_tag``: the holder's digest for this certificate."""
    # The statement against the session.
    if statement.cert_type != ordered_type:
        return Finding(SUBJECT_MISMATCH, "type-stated")
    kind = CertificateType(ordered_type)
    drawn_from = (statement.household if kind is CertificateType.JUMINHYO
                  else statement.family_register if kind in PERSON_OF_REGISTER_TYPES else ())
    if drawn_from:
        # Persons chosen from the holder's household or 戸籍 (the holder need not be one).
        if holder not in drawn_from or not statement.subjects or not set(
                statement.subjects) <= set(drawn_from):
            return Finding(SUBJECT_MISMATCH, "holder-not-stated")
        if kind in PERSON_OF_REGISTER_TYPES and len(statement.subjects) != 1:
            return Finding(SUBJECT_MISMATCH, "other-subjects-stated")
    elif holder not in statement.subjects:
        return Finding(SUBJECT_MISMATCH, "holder-not-stated")
    elif kind in SOLE_SUBJECT_TYPES and set(statement.subjects) != {holder}:
        return Finding(SUBJECT_MISMATCH, "other-subjects-stated")
    # The pages against the statement.
    if statement.pages < 1 or len(pages) != statement.pages:
        return Finding(SUBJECT_MISMATCH, "page-count")
    for index, marks in enumerate(pages, start=1):
        kind = SUBJECT_MISMATCH if index == 1 else FOREIGN_PAGE
        if len(marks) != 1:
            return Finding(kind, "unmarked-page" if not marks else "marks", index)
        mark = marks[0]
        if mark.certificate_number != statement.certificate_number:
            return Finding(kind, "certificate-number", index)
        if mark.cert_type != ordered_type:
            return Finding(kind, "type", index)
        if set(mark.subjects) != tags:
            return Finding(kind, "subjects", index)
        if (mark.page, mark.pages) != (index, statement.pages):
            return Finding(kind, "page-order", index)
    if holder_tag not in tags and not drawn_from:
        return Finding(SUBJECT_MISMATCH, "holder-not-marked", 1)  # belt and braces
    return None


# -- at the edge: the order flow calls this before any back page is made --------------------

async def ensure_subjects(ctx: CenterContext, *, certificates: Sequence[dict[str, Any]],
                          fronts: Sequence[bytes], ordered_type: str, municipality_code: str,
                          holder: str, order_id: str, request_id: str, terminal_id: str,
                          now: datetime) -> None:
    """Refuse (502 ``upstream-error``, ``reason: subject-mismatch``) and record an
    incident unless every certificate of the answer passes ``check_certificate``.
    Nothing has been stored or charged yet, so a refusal leaves nothing behind."""
    secret = ctx.subject_secret
    if secret is None:
        # The center's configuration, not the municipality's answer: a defect.
        raise RuntimeError("the center has no subject-binding secret (python -m konbini.devpki)")
    for issued, front in zip(certificates, fronts, strict=True):
        statement = Statement.from_wire(issued)
        number = statement.certificate_number
        try:
            pages = await asyncio.to_thread(read_marks, front)
        except UnreadableMarks:
            finding: Finding | None = Finding(SUBJECT_MISMATCH, "unreadable")
        else:
            finding = check_certificate(
                statement, pages, ordered_type=ordered_type, holder=holder,
                tags=expected_tags(secret, municipality_code, number, statement.subjects),
                holder_tag=next(iter(expected_tags(secret, municipality_code, number,
                                                   [holder]))))
        if finding is None:
            continue
        detail = finding.detail + (f"-page-{finding.page}" if finding.page else "")
        await record_incident(ctx.store, kind=IncidentKind(finding.kind),
                              municipality_code=municipality_code, now=now, order_id=order_id,
                              request_id=request_id, terminal_id=terminal_id,
                              detail_code=detail)
        log.warning("refused certificate %s of order %s: %s", number, order_id, detail)
        raise Problem("upstream-error",
                      "the municipal server's certificate is not the cardholder's or not of "
                      "one piece; nothing was printed or charged", reason=SUBJECT_MISMATCH)
