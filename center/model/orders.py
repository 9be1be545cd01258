"""Orders and their settlement (精算): what a kiosk charges and refunds.

The one definition of money for orders, used by the order handlers, the
settlement ledger and every report. Pure: plain values in, plain values out.

Rules:
- each printed copy is charged its fee; every other copy (failed, e.g. a paper
  jam, or not reported) is voided and refunded;
- an order whose result never comes within the download window (10 minutes)
  is voided and refunds everything;
- an order is settled once: ``issued`` → ``settled`` or ``voided``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from konbini.wire import DOWNLOAD_WINDOW_SECONDS


class OrderStatus(StrEnum):
    """発行済 (waiting for the print result), 精算済, 無効 (voided, all refunded)."""

    ISSUED = "issued"
    SETTLED = "settled"
    VOIDED = "voided"


class CertificateStatus(StrEnum):
    ISSUED = "issued"
    PRINTED = "printed"
    VOID = "void"


class EntryKind(StrEnum):
    """A ledger entry: a copy charged, or a copy refunded."""

    CHARGE = "charge"
    REFUND = "refund"


NOT_REPORTED = "not reported as printed"
NEVER_REPORTED = "result never reported"


@dataclass(frozen=True)
class Copy:
    """One certificate of an order and its fee (per copy, integer yen)."""

    certificate_id: str
    fee_yen: int


@dataclass(frozen=True)
class CopyOutcome:
    certificate_id: str
    fee_yen: int
    status: CertificateStatus
    void_reason: str | None

    @property
    def kind(self) -> EntryKind:
        return EntryKind.CHARGE if self.status is CertificateStatus.PRINTED else EntryKind.REFUND


@dataclass(frozen=True)
class Settlement:
    """The outcome of one order: its final status and each copy's."""

    status: OrderStatus
    copies: tuple[CopyOutcome, ...]

    @property
    def charged_yen(self) -> int:
        return sum(c.fee_yen for c in self.copies if c.kind is EntryKind.CHARGE)

    @property
    def refunded_yen(self) -> int:
        return sum(c.fee_yen for c in self.copies if c.kind is EntryKind.REFUND)


class ResultError(ValueError):
    """A print result that does not describe the order's copies; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_result(copies: Iterable[Copy], printed: set[str], failed: Mapping[str, str]) -> None:
    """Every copy reported exactly once, as printed or failed; nothing else."""
    ids = {c.certificate_id for c in copies}
    if printed & failed.keys():
        raise ResultError("failed", "a certificate cannot be printed and failed")
    if not (printed | failed.keys()) <= ids:
        raise ResultError("printed", "a certificate not in this order")
    if (printed | failed.keys()) != ids:
        raise ResultError("printed",
                          "every certificate of the order must be reported as printed or failed")


def settle(copies: Iterable[Copy], printed: set[str], failed: Mapping[str, str]) -> Settlement:
    """The kiosk's print result: printed copies charged, the rest voided and refunded."""
    outcomes = []
    for copy in copies:
        if copy.certificate_id in printed:
            outcomes.append(CopyOutcome(copy.certificate_id, copy.fee_yen,
                                        CertificateStatus.PRINTED, None))
        else:
            reason = failed.get(copy.certificate_id) or NOT_REPORTED
            outcomes.append(CopyOutcome(copy.certificate_id, copy.fee_yen,
                                        CertificateStatus.VOID, reason))
    return Settlement(OrderStatus.SETTLED, tuple(outcomes))


def void(copies: Iterable[Copy], reason: str = NEVER_REPORTED) -> Settlement:
    """No result within the window: every copy voided and refunded."""
    return Settlement(OrderStatus.VOIDED, tuple(
        CopyOutcome(c.certificate_id, c.fee_yen, CertificateStatus.VOID, reason)
        for c in copies))


def download_until(created_at: datetime) -> datetime:
    return created_at + timedelta(seconds=DOWNLOAD_WINDOW_SECONDS)


def is_expired(status: OrderStatus | str, until: datetime, now: datetime) -> bool:
    """An issued order past its window is voided by the upkeep (and may not be downloaded)."""
    return OrderStatus(status) is OrderStatus.ISSUED and now >= until


def order_total(fee_per_copy_yen: int, copies: int) -> int:
    return fee_per_copy_yen * copies
