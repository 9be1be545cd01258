"""The conditional writes of settlement, on a real SQLite file shared by two
connections (as two worker processes share it): a kiosk's result and the
10-minute void cannot both settle an order; overlapping fee periods cannot both
get in."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from center.model.settlement import JST, Contract, FeePeriod
from center.storage import CenterStore, CertificateRecord, OrderRecord

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=JST)


async def _order(store: CenterStore, order_id: str, copies: int = 2) -> list[str]:
    await store.create_session(f"s-{order_id}", "kiosk-0002", "lawson", "store-0002", "card",
                               b"x" * 32, NOW)
    ids = [f"{order_id}-{n}" for n in range(copies)]
    order = OrderRecord(order_id, f"s-{order_id}", "kiosk-0002", "131016", "juminhyo", copies,
                        300 * copies, "issued", NOW + timedelta(minutes=10), None, None)
    await store.create_order(order, "r", NOW, [
        (CertificateRecord(i, order_id, f"N-{i}", "juminhyo", "131016", "d", "f", 300,
                           "issued", NOW), b"%PDF-") for i in ids])
    return ids


async def test_a_result_and_the_void_settle_an_order_once(tmp_path: Path) -> None:
    path = tmp_path / "center.db"
    first, second = await CenterStore.open(path, migrate=True), await CenterStore.open(path)
    try:
        await first.ledger.set_contract(Contract(None, date(2026, 4, 1), 10, 115, 0), NOW)
        for n in range(10):
            ids = await _order(first, f"o{n}")
            late = NOW + timedelta(minutes=10, seconds=1)
            result, voided = await asyncio.gather(
                first.settle_order(f"o{n}", {ids[0]}, {ids[1]: "paper-jam"}, late),
                second.expire_orders(late))
            entries = await first.ledger.entries(f"o{n}")
            assert len(entries) == 2, entries
            order = await first.order(f"o{n}")
            assert order is not None
            if result is None:  # the void won
                assert voided == [f"o{n}"] and order.status == "voided"
                assert [e["kind"] for e in entries] == ["refund", "refund"]
            else:
                assert result == (300, 300) and order.status == "settled"
                assert sorted(e["kind"] for e in entries) == ["charge", "refund"]
                charge = next(e for e in entries if e["kind"] == "charge")
                assert (charge["chain"], charge["store_id"], charge["center_commission_yen"],
                        charge["store_commission_yen"]) == ("lawson", "store-0002", 10, 115)
            assert sum(e["fee_yen"] for e in entries if e["kind"] == "charge") == (
                order.charged_yen or 0)
            # A second report changes nothing.
            assert await second.settle_order(f"o{n}", set(ids), {}, late) is None
            assert len(await second.ledger.entries(f"o{n}")) == 2
    finally:
        await first.close()
        await second.close()


async def test_overlapping_fee_periods_cannot_both_get_in(tmp_path: Path) -> None:
    path = tmp_path / "center.db"
    first, second = await CenterStore.open(path, migrate=True), await CenterStore.open(path)
    try:
        a = FeePeriod("131016", "juminhyo", 10, date(2026, 12, 1), date(2026, 12, 31))
        b = FeePeriod("131016", "juminhyo", 100, date(2026, 12, 31), date(2027, 1, 31))
        added = await asyncio.gather(first.ledger.add_fee_period(a, NOW),
                                     second.ledger.add_fee_period(b, NOW))
        assert sum(x is not None for x in added) == 1
        assert len(await first.ledger.fee_periods("131016")) == 1
        # Adjacent, not overlapping: fine; another type: fine.
        c = FeePeriod("131016", "juminhyo", 50, date(2027, 2, 1), date(2027, 2, 28))
        assert await second.ledger.add_fee_period(c, NOW) is not None
        d = FeePeriod("131016", "inkan", 50, date(2026, 12, 1), date(2026, 12, 31))
        assert await first.ledger.add_fee_period(d, NOW) is not None
    finally:
        await first.close()
        await second.close()


async def test_a_void_commits_with_its_incident_and_owed_outcome_or_not_at_all(
        tmp_path: Path) -> None:
    """The upkeep's void, its incident and the outcome owed to the municipality
    are one transaction: the database lost in the middle leaves the order issued
    (the next round voids it), never voided with nobody told."""
    from center.incidents import record_void

    store = await CenterStore.open(tmp_path / "center.db", migrate=True)
    try:
        await store.ledger.set_contract(Contract(None, date(2026, 4, 1), 10, 115, 0), NOW)
        await _order(store, "o1")
        late = NOW + timedelta(minutes=10, seconds=1)

        async def lost_midway(uow: CenterStore, order_id: str, now: datetime) -> None:
            await record_void(uow, order_id, now)
            raise ConnectionResetError("the database went away")

        with pytest.raises(ConnectionResetError):
            await store.expire_orders(late, then=lost_midway)
        order = await store.order("o1")
        assert order is not None and order.status == "issued"
        assert await store.ledger.entries("o1") == []
        assert await store.incidents.find(order_id="o1") == []
        assert await store.outbox.pending() == 0

        assert await store.expire_orders(late, then=record_void) == ["o1"]
        order = await store.order("o1")
        assert order is not None and order.status == "voided"
        assert [i["kind"] for i in await store.incidents.find(order_id="o1")] == ["void"]
        assert await store.outbox.pending() == 1
    finally:
        await store.close()
