"""Incidents, outcomes and the terminal registry without a server: the pure
rules, and the storage on a real database (SQLite, or PostgreSQL with
``KONBINI_TEST_DATABASE=postgresql``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from center import incidents, reconciliation, terminals
from center.incidents import IncidentKind, IncidentStatus, InvalidTransition
from center.reconciliation import CertificateOutcome, Outcome
from center.storage import CenterStore
from municipal_server import outcomes

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_an_incident_moves_forward_only() -> None:
    assert incidents.next_status(IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED) is (
        IncidentStatus.ACKNOWLEDGED)
    assert incidents.next_status(IncidentStatus.OPEN, IncidentStatus.RESOLVED) is (
        IncidentStatus.RESOLVED)
    assert incidents.next_status(IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED) is (
        IncidentStatus.RESOLVED)
    for current, wanted in ((IncidentStatus.ACKNOWLEDGED, IncidentStatus.ACKNOWLEDGED),
                            (IncidentStatus.RESOLVED, IncidentStatus.ACKNOWLEDGED),
                            (IncidentStatus.RESOLVED, IncidentStatus.RESOLVED),
                            (IncidentStatus.ACKNOWLEDGED, IncidentStatus.OPEN)):
        with pytest.raises(InvalidTransition):
            incidents.next_status(current, wanted)


def test_a_detail_code_keeps_no_free_text() -> None:
    assert incidents.clean_detail_code("paper-jam") == "paper-jam"
    assert incidents.clean_detail_code("Toner Empty!") == "toner-empty"
    assert incidents.clean_detail_code("霞 太郎") is None
    assert incidents.clean_detail_code("x" * 300) == "x" * incidents.DETAIL_CODE_MAX
    assert incidents.clean_detail_code(None) is None


def test_void_messages_name_who_voided() -> None:
    assert "市区町村" in (incidents.void_message("municipality:wrong-person") or "")
    assert "別人の証明書" in (incidents.void_message("municipality:wrong-person") or "")
    assert "店舗" in (incidents.void_message("store-report:illegible") or "")
    assert incidents.void_message("paper-jam") is None
    assert incidents.void_message(None) is None


def test_outcomes_of_a_settlement() -> None:
    found = reconciliation.settlement_outcomes(
        [("1", "printed", None), ("2", "void", "paper-jam")])
    assert found == [CertificateOutcome("1", Outcome.DELIVERED),
                     CertificateOutcome("2", Outcome.FAILED, "paper-jam")]
    voided = reconciliation.settlement_outcomes([("3", "void", "x")], Outcome.VOIDED)
    assert voided[0].outcome is Outcome.VOIDED
    body = reconciliation.outcome_body(Outcome.FAILED, "upstream-timeout")
    assert body == {"outcome": "failed", "reason": "upstream-timeout"}


def test_retries_back_off_up_to_an_hour() -> None:
    delays = [reconciliation.next_attempt(n, NOW) - NOW for n in range(1, 20)]
    assert delays[0] == timedelta(seconds=5)
    assert delays[1] == timedelta(seconds=10)
    assert delays == sorted(delays)
    assert max(delays) == timedelta(hours=1)


def test_the_municipal_history_summarises_each_copy() -> None:
    assert outcomes.summary(["1", "2"], {}) == "undelivered"
    assert outcomes.summary(["1", "2"], {"1": "delivered"}) == "undelivered"
    assert outcomes.summary(["1", "2"], {"1": "delivered", "2": "delivered"}) == "delivered"
    assert outcomes.summary(["1", "2"], {"1": "delivered", "2": "failed"}) == (
        "partly-delivered")
    assert outcomes.summary(["1"], {"1": "voided"}) == "voided"
    assert outcomes.per_certificate(["1", "2"], {"outcome": "failed", "reason": "r"}) == [
        ("1", "failed", "r"), ("2", "failed", "r")]
    with pytest.raises(KeyError):
        outcomes.per_certificate(["1"], {"outcome": "voided", "certificates": [
            {"certificate_number": "9", "outcome": "voided"}]})


def test_incidents_are_stored_filtered_and_escalated(center_database: Path | str) -> None:
    async def scenario() -> None:
        store = await CenterStore.open(center_database, migrate=True)
        try:
            old = await incidents.record_incident(
                store, kind=IncidentKind.UPSTREAM_TIMEOUT, municipality_code="131016",
                now=NOW - timedelta(days=2), order_id="o1", detail_code="upstream-timeout")
            new = await incidents.record_incident(
                store, kind=IncidentKind.PRINT_FAILED, municipality_code="131016", now=NOW,
                order_id="o2", certificate_id="c2", detail_code="paper-jam")
            await incidents.record_incident(
                store, kind=IncidentKind.VOID, municipality_code="452017", now=NOW)
            mine = await incidents.incidents(store, municipality_code="131016")
            assert [i.incident_id for i in mine] == [old, new]
            assert [i.incident_id for i in await incidents.incidents(
                store, municipality_code="131016", since=NOW)] == [new]
            escalated = await incidents.escalated_incidents(store, NOW)
            assert [i.incident_id for i in escalated] == [old]
            assert escalated[0].to_wire(NOW)["escalated"] is True

            # Another municipality's incident cannot be moved.
            assert await incidents.update_status(store, old, "452017",
                                                 IncidentStatus.RESOLVED, None, NOW) is None
            acknowledged = await incidents.update_status(
                store, old, "131016", IncidentStatus.ACKNOWLEDGED, "対応中", NOW)
            assert acknowledged is not None and acknowledged.note == "対応中"
            assert await incidents.escalated_incidents(store, NOW) == []
            with pytest.raises(InvalidTransition):
                await incidents.update_status(store, old, "131016",
                                              IncidentStatus.ACKNOWLEDGED, None, NOW)
        finally:
            await store.close()

    run(scenario())


def _kiosk_pem(cn: str, chain: str, store: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, chain),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, store)])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW).not_valid_after(NOW + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_the_registry_knows_a_terminal_by_its_certificate(center_database: Path | str) -> None:
    async def scenario() -> None:
        store = await CenterStore.open(center_database, migrate=True)
        try:
            first = await terminals.enrol(store, _kiosk_pem("k-1", "lawson", "s-1"),
                                          address="東京都（見本）", hours="24h", now=NOW)
            assert terminals.refusal(first) is None
            assert await terminals.reads_smartphones(store, "lawson")
            # Same CN, another chain and store: refused while the first is enrolled.
            with pytest.raises(terminals.EnrolmentError):
                await terminals.enrol(store, _kiosk_pem("k-1", "familymart", "s-9"), now=NOW)
            assert await terminals.terminal(store, "0" * 64) is None
            assert terminals.refusal(None).code == "terminal-not-enrolled"  # type: ignore[union-attr]

            [suspended] = await terminals.set_status(store, "k-1",
                                                     terminals.TerminalStatus.SUSPENDED, "", NOW)
            assert terminals.refusal(suspended).code == "terminal-suspended"  # type: ignore[union-attr]
            [revoked] = await terminals.set_status(store, first.fingerprint,
                                                   terminals.TerminalStatus.REVOKED, "", NOW)
            assert terminals.refusal(revoked).code == "terminal-revoked"  # type: ignore[union-attr]
            assert await terminals.set_status(store, "k-1", terminals.TerminalStatus.ACTIVE,
                                              "", NOW) == []
            # Once revoked, the id may go to a new certificate.
            await terminals.enrol(store, _kiosk_pem("k-1", "familymart", "s-9"), now=NOW)

            await terminals.enrol(store, _kiosk_pem("k-2", "seven-eleven", "s-2"), now=NOW)
            assert not await terminals.reads_smartphones(store, "seven-eleven")
            await terminals.set_chain(store, "seven-eleven", smartphone=True, now=NOW)
            assert await terminals.reads_smartphones(store, "seven-eleven")
            with pytest.raises(terminals.EnrolmentError):
                await terminals.enrol(store, b"not a certificate", now=NOW)
        finally:
            await store.close()

    run(scenario())


def test_a_later_outcome_waits_for_an_earlier_one_of_the_same_request(
        center_database: Path | str) -> None:
    """The outbox never lets a "voided" overtake a "delivered" still being retried."""
    import aiohttp

    async def scenario() -> None:
        store = await CenterStore.open(center_database, migrate=True)
        try:
            async with store.writing() as db:  # a municipal server nobody answers at
                await db.execute(
                    "INSERT INTO municipalities VALUES (?,?,?,?,?,?,?,?)",
                    ("131016", "千代田区", "東京都", "https://127.0.0.1:9", "[]", "active",
                     0, 0))
            delivered = reconciliation.outcome_body(Outcome.DELIVERED, "")
            voided = reconciliation.outcome_body(Outcome.VOIDED, "reissued")
            await reconciliation.owe_outcome(store, request_id="r1", municipality_code="131016",
                                             body=delivered, now=NOW,
                                             due=NOW + timedelta(minutes=5))
            await reconciliation.owe_outcome(store, request_id="r1", municipality_code="131016",
                                             body=voided, now=NOW)
            await reconciliation.owe_outcome(store, request_id="r2", municipality_code="131016",
                                             body=voided, now=NOW)
            async with aiohttp.ClientSession() as session:
                assert await reconciliation.deliver_due(store, session, NOW) == 0
            rows = await store.fetch("SELECT request_id, attempts FROM outcome_outbox "
                                     "ORDER BY id")
            # r1's "voided" was not tried while its "delivered" waits; r2 was tried.
            assert [(r["request_id"], r["attempts"]) for r in rows] == [
                ("r1", 0), ("r1", 0), ("r2", 1)]
            assert await reconciliation.pending(store) == 3

            await reconciliation.intend(store, request_id="r3", municipality_code="131016",
                                        now=NOW, grace=timedelta(minutes=2))
            await reconciliation.drop_intent(store, "r3")
            assert await reconciliation.pending(store) == 3
        finally:
            await store.close()

    run(scenario())


def test_two_simultaneous_enrolments_of_one_terminal_id_at_two_stores(
        center_database: Path | str) -> None:
    """Two workers (two connections to one database) enrol the same terminal id at
    two stores at the same moment: exactly one wins, the other is refused, and the
    registry holds one store for the id. Several rounds, so an interleaving that a
    read-then-write would lose is all but certain to come up."""
    async def scenario() -> None:
        first = await CenterStore.open(center_database, migrate=True)
        second = await CenterStore.open(center_database)
        try:
            for round_ in range(8):
                terminal_id = f"race-{round_}"
                outcomes = await asyncio.gather(
                    terminals.enrol(first, _kiosk_pem(terminal_id, "lawson", "s-1"), now=NOW),
                    terminals.enrol(second, _kiosk_pem(terminal_id, "familymart", "s-2"),
                                    now=NOW),
                    return_exceptions=True)
                won = [o for o in outcomes if isinstance(o, terminals.Terminal)]
                refused = [o for o in outcomes if isinstance(o, terminals.EnrolmentError)]
                assert len(won) == 1 and len(refused) == 1, outcomes
                assert terminal_id in str(refused[0])
                enrolled = await terminals.find(first, terminal_id)
                assert [(t.chain, t.store_id) for t in enrolled] == [
                    (won[0].chain, won[0].store_id)]
            # A second certificate of the same store is no conflict (a renewed one).
            [holder] = await terminals.find(first, "race-0")
            renewed = await terminals.enrol(
                second, _kiosk_pem("race-0", holder.chain, holder.store_id), now=NOW)
            assert len(await terminals.find(first, "race-0")) == 2
            assert terminals.refusal(renewed) is None
        finally:
            await first.close()
            await second.close()

    run(scenario())
