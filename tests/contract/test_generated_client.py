"""A kiosk vendor's view: a Python client generated from the center's served
OpenAPI document by a standard generator (openapi-python-client) runs one
whole issuance against the real services over mutual TLS: session, card
authentication, menu, order, PDF download, result."""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from kiosk_sim.wallet import Wallet
from tests.contract.conftest import Contract

PACKAGE = "konbini_center_client"
# The generator's own settings: PDFs and PNGs come as bytes (File), not text;
# no formatter run on the generated code.
GENERATOR_CONFIG = "\n".join([
    "content_type_overrides:",
    "  application/pdf: application/octet-stream",
    "  image/png: application/octet-stream",
    "post_hooks: []", ""])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _generate(contract: Contract, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Generate the client from the document as the center's API listener serves it."""
    with urllib.request.urlopen(f"{contract.system.center_url}/v1/openapi.json",
                                context=contract.ssl_as_kiosk(), timeout=30) as response:
        document = json.loads(response.read())
    (tmp_path / "center.json").write_text(json.dumps(document, ensure_ascii=False),
                                          encoding="utf-8")
    (tmp_path / "generator.yaml").write_text(GENERATOR_CONFIG, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "center.json",
         "--output-path", PACKAGE, "--meta", "none", "--config", "generator.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output, output  # every operation and response was understood
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))


def test_generated_client_issues_a_certificate(contract: Contract, wallet: Wallet,
                                               tmp_path: Path) -> None:
    client_package = _generate(contract, tmp_path)

    def module(name: str):  # type: ignore[no-untyped-def]
        return importlib.import_module(f"{PACKAGE}.{name}")

    kiosk = module("api.kiosk")
    models = module("models")
    create_session = importlib.import_module(f"{kiosk.__name__}.create_session")
    authenticate = importlib.import_module(f"{kiosk.__name__}.authenticate")
    get_menu = importlib.import_module(f"{kiosk.__name__}.get_menu")
    create_order = importlib.import_module(f"{kiosk.__name__}.create_order")
    download = importlib.import_module(f"{kiosk.__name__}.download_certificate")
    report_result = importlib.import_module(f"{kiosk.__name__}.report_result")
    end_session = importlib.import_module(f"{kiosk.__name__}.end_session")

    # Mutual TLS is the SSL context (the terminal's certificate); the API has no token,
    # so the plain Client carries it.
    client = client_package.Client(base_url=contract.system.center_url,
                                   verify_ssl=contract.ssl_as_kiosk(),
                                   raise_on_unexpected_status=True)
    with client:
        session = create_session.sync(client=client)  # the body is optional
        assert isinstance(session, models.CreateSessionResponse201), session

        card = wallet.get("kasumi-taro")
        challenge = base64.urlsafe_b64decode(session.challenge + "=" * (-len(session.challenge)
                                                                         % 4))
        signed = authenticate.sync(session.session_id, client=client,
                                   body=models.AuthenticateBody(
                                       certificate=_b64url(card.certificate_der()),
                                       signature=_b64url(card.sign_challenge(challenge,
                                                                             "1234"))))
        assert isinstance(signed, models.AuthenticateResponse200), signed
        assert (signed.municipality.code, signed.municipality.name) == ("131016", "千代田区")

        menu = get_menu.sync(session.session_id, client=client)
        assert isinstance(menu, models.GetMenuResponse200), menu
        juminhyo = next(item for item in menu.items if item.type_.value == "juminhyo")
        assert juminhyo.available and juminhyo.fee_yen == 200
        assert any(member.name == "霞 太郎" and member.self_ for member in menu.household)

        order = create_order.sync(session.session_id, client=client, body=models.CreateOrderBody(
            type_=models.CreateOrderBodyType.JUMINHYO, copies=1,
            options=models.CreateOrderBodyOptions(members="household"),
            expected_fee_yen=juminhyo.fee_yen))
        assert isinstance(order, models.CreateOrderResponse201), order
        assert order.fee_yen == 200 and len(order.certificates) == 1
        certificate = order.certificates[0]

        pdf = download.sync(order.order_id, certificate.certificate_id, client=client)
        data = pdf.payload.read()
        assert data.startswith(b"%PDF-")
        assert hashlib.sha256(data).hexdigest() == certificate.sha256

        settled = report_result.sync(order.order_id, client=client, body=models.ReportResultBody(
            printed=[certificate.certificate_id]))
        assert isinstance(settled, models.ReportResultResponse200), settled
        assert (settled.charged_yen, settled.refunded_yen) == (200, 0)

        gone = end_session.sync_detailed(session.session_id, client=client)
        assert gone.status_code == 204
        # A refusal comes back as the document's Problem model with its stable code.
        again = end_session.sync(session.session_id + "x", client=client)
        assert isinstance(again, models.Problem) and again.code == "session-not-found"
