"""Who may call what: mutual TLS, client roles, sessions and orders bound to
their terminal, single-use challenges, and card certificates from the JPKI CA."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from kiosk_sim.client import KioskClient, KioskProblem, Terminal
from kiosk_sim.wallet import Wallet
from konbini.b64 import b64url_decode, b64url_encode
from tests.conftest import FLOOD_BUDGET, FLOOD_TERMINAL, Raw, System


async def test_no_client_certificate_is_refused_in_the_handshake(system: System) -> None:
    for url in (system.center_url + "/v1/sessions", system.municipal_url("131016") + "/v1/menu"):
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=system.ssl_anonymous())) as session:
            with pytest.raises((aiohttp.ClientError, ssl.SSLError)):
                async with session.post(url, json={}) as response:
                    await response.read()


async def test_a_municipal_certificate_cannot_use_the_kiosk_api(as_chiyoda: Raw) -> None:
    status, body, _ = await as_chiyoda.call("POST", "/v1/sessions", json_body={})
    assert (status, body["code"]) == (403, "client-not-allowed")


async def test_a_kiosk_certificate_cannot_use_the_municipality_api(as_kiosk: Raw) -> None:
    status, body, _ = await as_kiosk.call("GET", "/v1/municipalities/131016")
    assert (status, body["code"]) == (403, "client-not-allowed")
    status, body, _ = await as_kiosk.call("POST", "/v1/jpki/certificates", json_body={})
    assert (status, body["code"]) == (403, "client-not-allowed")


async def test_only_the_center_may_call_a_municipal_server(system: System) -> None:
    raw = Raw(system.municipal_url("131016"), system.ssl_as_kiosk())
    try:
        status, body, _ = await raw.call("GET", "/v1/health")
        assert (status, body["code"]) == (403, "client-not-allowed")
    finally:
        await raw.close()
    raw = Raw(system.municipal_url("131016"), system.ssl_as_center())
    try:
        status, body, _ = await raw.call("GET", "/v1/health")
        assert (status, body) == (200, {"status": "ok", "code": "131016"})
    finally:
        await raw.close()


async def test_another_terminals_session_and_order(system: System, kiosk: KioskClient,
                                                   wallet: Wallet) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    order = await kiosk.order(session["session_id"], "juminhyo", 1, {}, 200)
    async with KioskClient(system.terminal("kiosk-0002")) as other:
        with pytest.raises(KioskProblem) as refused:
            await other.menu(session["session_id"])
        assert refused.value.code == "session-not-found"
        with pytest.raises(KioskProblem) as refused:
            await other.download(order["certificates"][0])
        assert refused.value.code == "order-not-found"
        with pytest.raises(KioskProblem) as refused:
            await other.report_result(order["order_id"], [])
        assert refused.value.code == "order-not-found"
    await kiosk.report_result(order["order_id"],
                              [order["certificates"][0]["certificate_id"]])
    await kiosk.end_session(session["session_id"])


async def test_a_second_authenticate_and_a_reused_challenge(kiosk: KioskClient,
                                                            wallet: Wallet) -> None:
    card = wallet.get("kasumi-taro")
    session = await kiosk.start_session()
    await kiosk.authenticate(session, card, "1234")
    with pytest.raises(KioskProblem) as again:
        await kiosk.authenticate(session, card, "1234")
    assert again.value.code == "already-authenticated"

    # A signature of one challenge replayed on another session.
    first = await kiosk.start_session()
    signature = card.sign_challenge(b64url_decode(first["challenge"]), "1234")
    second = await kiosk.start_session()
    with pytest.raises(KioskProblem) as replay:
        await kiosk.request("POST", f"/v1/sessions/{second['session_id']}/authenticate", {
            "certificate": b64url_encode(card.certificate_der()),
            "signature": b64url_encode(signature)})
    assert replay.value.code == "signature-invalid"
    # The challenge is single use even after a failed attempt.
    with pytest.raises(KioskProblem) as used:
        await kiosk.authenticate(second, card, "1234")
    assert used.value.code == "challenge-expired"


async def test_a_late_challenge(kiosk: KioskClient, wallet: Wallet, center_clock) -> None:
    session = await kiosk.start_session()
    await center_clock.advance(121)
    with pytest.raises(KioskProblem) as refused:
        await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    assert refused.value.code == "challenge-expired"


def _foreign_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "JPKI-UA-impostor")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    return key, certificate.public_bytes(serialization.Encoding.DER)


async def test_a_card_certificate_from_a_foreign_ca(kiosk: KioskClient) -> None:
    key, der = _foreign_certificate()
    session = await kiosk.start_session()
    signature = key.sign(b64url_decode(session["challenge"]), padding.PKCS1v15(),
                         hashes.SHA256())
    with pytest.raises(KioskProblem) as refused:
        await kiosk.request("POST", f"/v1/sessions/{session['session_id']}/authenticate", {
            "certificate": b64url_encode(der), "signature": b64url_encode(signature)})
    assert refused.value.code == "certificate-untrusted"
    assert refused.value.problem["status"] == 401


async def test_a_tampered_signature(kiosk: KioskClient, wallet: Wallet) -> None:
    card = wallet.get("kasumi-taro")
    session = await kiosk.start_session()
    signature = bytearray(card.sign_challenge(b64url_decode(session["challenge"]), "1234"))
    signature[10] ^= 0x01
    with pytest.raises(KioskProblem) as refused:
        await kiosk.request("POST", f"/v1/sessions/{session['session_id']}/authenticate", {
            "certificate": b64url_encode(card.certificate_der()),
            "signature": b64url_encode(bytes(signature))})
    assert refused.value.code == "signature-invalid"


async def test_menu_before_authenticate(kiosk: KioskClient) -> None:
    session = await kiosk.start_session()
    with pytest.raises(KioskProblem) as refused:
        await kiosk.menu(session["session_id"])
    assert refused.value.code == "not-authenticated"


async def test_an_idle_session_expires(kiosk: KioskClient, wallet: Wallet,
                                       center_clock) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    await center_clock.advance(11 * 60)
    with pytest.raises(KioskProblem) as refused:
        await kiosk.menu(session["session_id"])
    assert refused.value.code == "session-expired"


async def test_a_municipality_manages_only_itself(as_chiyoda: Raw) -> None:
    status, body, _ = await as_chiyoda.call("PUT", "/v1/municipalities/452017", json_body={
        "name": "宮崎市", "prefecture": "宮崎県", "endpoint": "https://127.0.0.1:1",
        "services": [{"type": "juminhyo", "fee_yen": 1}]})
    assert (status, body["code"]) == (403, "municipality-mismatch")
    status, body, _ = await as_chiyoda.call("PUT", "/v1/municipalities/131017", json_body={})
    assert (status, body["code"]) == (422, "invalid-request")
    assert body["errors"][0]["field"] == "code"


async def test_a_withdrawn_municipality_is_not_participating(system: System,
                                                             fresh_card) -> None:
    """Withdraw 宮崎市, see its resident refused, then register it again."""
    raw = Raw(system.center_url, system.ssl_as_municipality("452017"))
    try:
        status, registration, _ = await raw.call("GET", "/v1/municipalities/452017")
        assert status == 200 and registration["status"] == "active"
        card = await fresh_card("bango-hanako")
        status, _, _ = await raw.call("DELETE", "/v1/municipalities/452017")
        assert status == 204
        async with KioskClient(system.terminal()) as kiosk:
            with pytest.raises(KioskProblem) as refused:
                await kiosk.issue(card, "1234", "juminhyo")
        assert refused.value.code == "municipality-not-participating"
    finally:
        status, body, _ = await raw.call("PUT", "/v1/municipalities/452017", json_body={
            key: registration[key] for key in ("name", "prefecture", "endpoint", "services")})
        await raw.close()
    assert status == 201, body
    assert body["status"] == "active"


async def test_a_revoked_card(system: System, fresh_card, as_chiyoda: Raw) -> None:
    card = await fresh_card("kasumi-hanako")
    serial = format(x509.load_der_x509_certificate(card.certificate_der()).serial_number, "x")
    status, _, _ = await as_chiyoda.call("POST", f"/v1/jpki/certificates/{serial}/status",
                                         json_body={"status": "revoked", "reason": "死亡"})
    assert status == 200
    async with KioskClient(system.terminal()) as kiosk:
        with pytest.raises(KioskProblem) as refused:
            await kiosk.issue(card, "1234", "juminhyo")
    assert refused.value.code == "card-revoked"
    status, body, _ = await as_chiyoda.call("POST", f"/v1/jpki/certificates/{serial}/status",
                                            json_body={"status": "valid"})
    assert (status, body["code"]) == (409, "conflict")


async def test_a_terminal_that_floods_the_center_is_rate_limited(
        system: System, own_terminal: Terminal) -> None:
    # Its own terminal with a small budget (conftest): 300 requests overrun it
    # however fast or slow the machine, unless they took over four minutes.
    flood = system.new_terminal(FLOOD_TERMINAL, store_id="store-9")
    flooding = Raw(system.center_url, flood.ssl_context())
    calm = Raw(system.center_url, own_terminal.ssl_context())
    try:
        answers = [await flooding.call("GET", "/v1/dev/clock") for _ in range(300)]
        limited = [(body, headers) for status, body, headers in answers if status == 429]
        assert limited, "300 requests at once were all let through"
        assert limited[0][0]["code"] == "rate-limited"
        assert limited[0][0]["retry_after_seconds"] > 0
        assert int(limited[0][1]["Retry-After"]) >= 1
        assert sum(status == 200 for status, _, _ in answers) >= FLOOD_BUDGET.burst
        # Other terminals are not affected.
        status, _, _ = await calm.call("GET", "/v1/dev/clock")
        assert status == 200
    finally:
        await flooding.close()
        await calm.close()
