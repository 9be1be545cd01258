"""Municipality registry rules (参加団体): local government codes and the
registration a municipality sends for its certificate server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from konbini.wire import CertificateType

from .calendar import Span, parse_hours


def jis_check_digit(first_five: str) -> int:
    """Check digit of a JIS X 0402 local government code (全国地方公共団体コード).

    Weights 6,5,4,3,2 over the first five digits; the digit is
    11 − (sum mod 11), taking its last digit, and 0 when the remainder is 0."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    remainder = total % 11
    return 0 if remainder == 0 else (11 - remainder) % 10


def is_valid_municipality_code(code: str) -> bool:
    return (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()
            and jis_check_digit(code[:5]) == int(code[5]))


@dataclass(frozen=True)
class ServiceOffer:
    """One certificate type a municipality offers: its fee and hours."""

    type: CertificateType
    fee_yen: int
    hours: dict[str, Span] | None = None
    raw_hours: dict[str, str] | None = None

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type.value, "fee_yen": self.fee_yen}
        if self.raw_hours is not None:
            body["hours"] = dict(self.raw_hours)
        return body


@dataclass(frozen=True)
class Registration:
    code: str
    name: str
    prefecture: str
    endpoint: str
    services: tuple[ServiceOffer, ...] = field(default_factory=tuple)

    def offer(self, cert_type: str) -> ServiceOffer | None:
        return next((s for s in self.services if s.type.value == cert_type), None)


def parse_services(services: list[dict[str, Any]]) -> tuple[ServiceOffer, ...]:
    """The ``services`` list of a registration, already schema-checked.

    Raises ValueError with the offending field for what the schema can't say
    (bad hours, a type listed twice)."""
    seen: set[str] = set()
    offers = []
    for index, service in enumerate(services):
        if service["type"] in seen:
            raise ValueError(f"services.{index}.type|listed twice")
        seen.add(service["type"])
        raw = service.get("hours")
        try:
            hours = parse_hours(raw)
        except ValueError as exc:
            raise ValueError(f"services.{index}.hours|{exc}") from exc
        offers.append(ServiceOffer(CertificateType(service["type"]), service["fee_yen"],
                                   hours, raw))
    return tuple(offers)


def registration_from_wire(code: str, body: dict[str, Any]) -> Registration:
    return Registration(code, body["name"], body["prefecture"], body["endpoint"].rstrip("/"),
                        parse_services(body["services"]))
