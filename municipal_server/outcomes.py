"""What became of each issuance (交付結果): the center reports whether the
certificates a kiosk requested were printed (``delivered``), never printed
(``failed``) or voided (``voided``). Until it does, the issuance history
says ``undelivered``: a record of a certificate nobody is known to have received."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

UNDELIVERED = "undelivered"
PARTLY_DELIVERED = "partly-delivered"


def per_certificate(numbers: Iterable[str], body: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(number, outcome, reason) for each certificate the report names, or for
    every copy of the request when it names none (pure). A number that is not
    one of the request's raises KeyError."""
    numbers = list(numbers)
    listed = body.get("certificates")
    if not listed:
        return [(n, body["outcome"], body.get("reason", "")) for n in numbers]
    result = []
    for item in listed:
        if item["certificate_number"] not in numbers:
            raise KeyError(item["certificate_number"])
        result.append((item["certificate_number"], item["outcome"],
                       item.get("reason", body.get("reason", ""))))
    return result


def summary(numbers: Iterable[str], outcomes: Mapping[str, str]) -> str:
    """The request's outcome from its copies' (pure): undelivered while any
    copy is unreported; delivered, failed or voided when all agree."""
    states = [outcomes.get(n, UNDELIVERED) for n in numbers]
    if not states or UNDELIVERED in states:
        return UNDELIVERED
    if len(set(states)) == 1:
        return states[0]
    return PARTLY_DELIVERED if "delivered" in states else "failed"
