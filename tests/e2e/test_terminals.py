"""Who is at the other end (issue 14, item 6): a terminal is its certificate.

A second certificate from the kiosk CA with the same CN as a real terminal,
but another chain and store, is refused at once and sees nothing of the
first terminal's session, menu, orders or PDFs; a suspended or revoked
terminal is refused at the very next request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from kiosk_sim.client import KioskClient, KioskProblem, Terminal
from kiosk_sim.wallet import Wallet
from konbini.devpki import DevPki, issue_tls_client_cert
from konbini.tls import client_context
from tests.conftest import Raw, System


def mint(system: System, tmp_path: Path, cn: str, chain: str, store: str) -> Terminal:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, chain),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, store)])
    cert, key = issue_tls_client_cert(DevPki.at(system.pki), subject,
                                      tmp_path / f"{cn}-{chain}-{store}")
    return Terminal(system.center_url, cert, key, system.pki / "tls-ca.cert.pem")


def raw(system: System, terminal: Terminal) -> Raw:
    return Raw(system.center_url, client_context(terminal.cert, terminal.key, terminal.ca))


def operator(system: System, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "center", "terminals", *args,
                           "--var", str(system.var)],
                          capture_output=True, text=True, timeout=120, env=system.center_env())
    return done.returncode, json.loads(done.stdout)


async def test_a_same_cn_certificate_of_another_chain_gets_403_and_sees_nothing(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    # The real kiosk-0001 (セブン-イレブン store-0001) has a session with its menu and an order.
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    session_id = session["session_id"]
    menu = await kiosk.menu(session_id)
    assert menu["household"]
    order = await kiosk.order(session_id, "juminhyo", 1, {"members": "household"}, 200)
    certificate = order["certificates"][0]

    impostor = raw(system, mint(system, tmp_path, "kiosk-0001", "lawson", "store-9999"))
    try:
        for method, path, body in (
                ("POST", "/v1/sessions", {}),
                ("GET", f"/v1/sessions/{session_id}/menu", None),
                ("POST", f"/v1/sessions/{session_id}/orders",
                 {"type": "juminhyo", "copies": 1, "expected_fee_yen": 200}),
                ("GET", certificate["pdf_url"], None),
                ("POST", f"/v1/orders/{order['order_id']}/result",
                 {"printed": [certificate["certificate_id"]]}),
                ("POST", f"/v1/orders/{order['order_id']}/report", {"what": "other"}),
                ("DELETE", f"/v1/sessions/{session_id}", None)):
            status, answer, _ = await impostor.call(method, path, json_body=body)
            assert (status, answer["code"]) == (403, "terminal-not-enrolled"), (method, path)
            assert "霞" not in json.dumps(answer, ensure_ascii=False)
    finally:
        await impostor.close()

    # A chain cannot enrol a terminal id another store holds.
    code, answer = operator(system, "enrol", "--cert",
                            str(tmp_path / "kiosk-0001-lawson-store-9999.cert.pem"))
    assert code == 2 and "kiosk-0001" in answer["error"]

    # The real terminal is untouched: its PDF and its result still work.
    pdf = await kiosk.download(certificate)
    assert pdf.startswith(b"%PDF-")
    settlement = await kiosk.report_result(order["order_id"], [certificate["certificate_id"]])
    assert settlement["charged_yen"] == 200
    await kiosk.end_session(session_id)


async def test_even_an_enrolled_twin_certificate_sees_nothing_of_the_other(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    """A second certificate of the very same subject (a renewal) is another
    terminal: enrolled, it gets its own sessions, never the first one's."""
    twin = mint(system, tmp_path, "kiosk-0001", "seven-eleven", "store-0001")
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    order = await kiosk.order(session["session_id"], "juminhyo", 1, {}, 200)
    code, _ = operator(system, "enrol", "--cert", str(twin.cert))
    assert code == 0
    other = raw(system, twin)
    try:
        status, answer, _ = await other.call("GET", f"/v1/sessions/{session['session_id']}/menu")
        assert (status, answer["code"]) == (404, "session-not-found")
        status, answer, _ = await other.call("GET", order["certificates"][0]["pdf_url"])
        assert (status, answer["code"]) == (404, "order-not-found")
        status, answer, _ = await other.call("POST", "/v1/sessions", json_body={})
        assert status == 201
    finally:
        await other.close()
        operator(system, "revoke", _fingerprint(twin.cert))
    await kiosk.report_result(order["order_id"], [order["certificates"][0]["certificate_id"]])
    await kiosk.end_session(session["session_id"])


def _fingerprint(cert: Path) -> str:
    from cryptography.hazmat.primitives import serialization

    from center.terminals import fingerprint
    return fingerprint(x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(
        serialization.Encoding.DER))


async def test_suspended_and_revoked_terminals_are_refused_at_once(
        system: System, wallet: Wallet, tmp_path: Path) -> None:
    terminal = mint(system, tmp_path, "kiosk-7001", "familymart", "store-7001")
    async with KioskClient(terminal) as kiosk:
        with pytest.raises(KioskProblem) as refused:
            await kiosk.start_session()
        assert refused.value.code == "terminal-not-enrolled"

        code, answer = operator(system, "enrol", "--cert", str(terminal.cert),
                                "--address", "東京都千代田区（見本）", "--hours", "24h")
        assert code == 0
        assert answer["terminals"][0]["store_id"] == "store-7001"
        # Enrolled: a smartphone is read here (ファミリーマート, per the registry).
        session = await kiosk.start_session("smartphone")
        await kiosk.authenticate(session, wallet.get("smartphone"), "1234")

        assert operator(system, "suspend", "kiosk-7001", "--reason", "repairs")[0] == 0
        with pytest.raises(KioskProblem) as refused:
            await kiosk.menu(session["session_id"])
        assert refused.value.code == "terminal-suspended"
        assert operator(system, "reinstate", "kiosk-7001")[0] == 0
        assert (await kiosk.menu(session["session_id"]))["items"]

        assert operator(system, "revoke", "kiosk-7001")[0] == 0
        with pytest.raises(KioskProblem) as refused:
            await kiosk.menu(session["session_id"])
        assert refused.value.code == "terminal-revoked"
        # Revoked is final.
        assert operator(system, "reinstate", "kiosk-7001")[0] == 2
        code, _ = operator(system, "enrol", "--cert", str(terminal.cert))
        assert code == 2
        with pytest.raises(KioskProblem) as refused:
            await kiosk.start_session()
        assert refused.value.code == "terminal-revoked"


def test_the_registry_lists_the_demo_terminals_and_which_chains_read_smartphones(
        system: System) -> None:
    code, answer = operator(system, "list")
    assert code == 0
    enrolled = {t["terminal_id"]: t for t in answer["terminals"]}
    assert {"kiosk-0001", "kiosk-0002", "kiosk-0003"} <= enrolled.keys()
    assert all(len(t["fingerprint"]) == 64 for t in enrolled.values())
    assert answer["chains"]["lawson"] is True
    assert answer["chains"]["familymart"] is True
    assert answer["chains"]["seven-eleven"] is False


async def test_a_chain_enrols_suspends_and_revokes_its_own_terminals(
        system: System, wallet: Wallet, tmp_path: Path, as_kiosk: Raw) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chain:lawson")])
    cert, key = issue_tls_client_cert(DevPki.at(system.pki), subject, tmp_path / "lawson")
    lawson = Raw(system.center_url, client_context(cert, key, system.pki / "tls-ca.cert.pem"))
    terminal = mint(system, tmp_path, "kiosk-8001", "lawson", "store-8001")
    foreign = mint(system, tmp_path, "kiosk-8002", "familymart", "store-8002")
    try:
        status, body, _ = await lawson.call("POST", "/v1/chains/lawson/terminals", json_body={
            "certificate": terminal.cert.read_text(), "address": "宮崎県宮崎市（見本）",
            "hours": "07:00-23:00"})
        assert status == 201, body
        fingerprint = body["fingerprint"]
        assert (body["terminal_id"], body["store_id"], body["status"]) == (
            "kiosk-8001", "store-8001", "active")
        status, body, _ = await lawson.call("GET", "/v1/chains/lawson/terminals")
        assert status == 200 and body["smartphone"] is True
        assert "kiosk-8001" in {t["terminal_id"] for t in body["terminals"]}
        assert {t["chain"] for t in body["terminals"]} == {"lawson"}

        # Not another chain's terminals, nor another chain's registry.
        status, body, _ = await lawson.call("POST", "/v1/chains/lawson/terminals", json_body={
            "certificate": foreign.cert.read_text()})
        assert (status, body["code"]) == (403, "chain-mismatch")
        status, body, _ = await lawson.call("GET", "/v1/chains/familymart/terminals")
        assert (status, body["code"]) == (403, "chain-mismatch")
        status, body, _ = await lawson.call("POST", "/v1/chains/lawson/terminals", json_body={
            "certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"})
        assert (status, body["code"]) == (422, "invalid-request")
        # A kiosk is no chain.
        status, body, _ = await as_kiosk.call("GET", "/v1/chains/lawson/terminals")
        assert (status, body["code"]) == (403, "client-not-allowed")

        async with KioskClient(terminal) as kiosk:
            session = await kiosk.start_session("smartphone")  # ローソン reads smartphones
            await kiosk.authenticate(session, wallet.get("smartphone"), "1234")
            path = f"/v1/chains/lawson/terminals/{fingerprint}"
            status, body, _ = await lawson.call("POST", path, json_body={"status": "suspended"})
            assert (status, body["status"]) == (200, "suspended")
            with pytest.raises(KioskProblem) as refused:
                await kiosk.menu(session["session_id"])
            assert refused.value.code == "terminal-suspended"
            status, body, _ = await lawson.call("POST", path, json_body={"status": "revoked"})
            assert status == 200
            status, body, _ = await lawson.call("POST", path, json_body={"status": "active"})
            assert (status, body["code"]) == (409, "conflict")
            with pytest.raises(KioskProblem) as refused:
                await kiosk.start_session()
            assert refused.value.code == "terminal-revoked"
    finally:
        await lawson.close()

