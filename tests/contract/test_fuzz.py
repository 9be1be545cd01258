"""Property-based API tests: schemathesis generates requests from each served
OpenAPI document (valid and invalid ones) and checks every answer: no 5xx, a
documented status code, the documented content type and response schema.

Bounded so the whole set stays within about two minutes on 2 cores: a fixed
seed, a few examples per operation, no shrinking. Operations that would change
what other tests rely on are left out: the dev clock and fault switch (the
session's center is shared)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from kiosk_sim.wallet import Wallet
from konbini.clock import Clock, parse_instant
from konbini.devpki import DevPki, issue_tls_client_cert
from konbini.persona_cards import issue_card
from konbini.personas import PersonaCard
from konbini.tls import client_context
from tests.conftest import BASE_CLOCK
from tests.contract.conftest import CODE, Contract

ROOT = Path(__file__).resolve().parents[2]
# One: two were slower on the busy 2-core machine (measured).
WORKERS = os.environ.get("KONBINI_FUZZ_WORKERS", "1")
MAX_EXAMPLES = int(os.environ.get("KONBINI_FUZZ_EXAMPLES", "10"))
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


FUZZ_CHAIN = "contract-fuzz"  # a chain of the fuzzing's own: its registry is fuzzed


def _fetch(url: str, context=None, headers=None, body: object = None,  # type: ignore[no-untyped-def]
           method: str | None = None) -> dict:
    request = urllib.request.Request(
        url, headers={**(headers or {}), "Content-Type": "application/json"}, method=method,
        data=None if body is None else json.dumps(body, ensure_ascii=False).encode())
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.loads(response.read())


def schemathesis(document: dict, base_url: str, tmp_path: Path, *options: str,
                 phases: str = "examples,coverage,fuzzing", state: Path | None = None) -> None:
    """Run schemathesis over ``document`` (as served) against ``base_url``;
    fail with its report when any check fails."""
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(path), "--url", base_url,
        "--checks", CHECKS, "--phases", phases,
        "--max-examples", str(MAX_EXAMPLES), "--seed", "20261124", "--no-shrink",
        "--generation-database", "none", "--workers", WORKERS, "--request-timeout", "30",
        "--suppress-health-check", "all", "--no-color", "--output-truncate", "true",
        *options]
    env = dict(os.environ)
    if state is not None:  # the hooks that put real ids into the generated calls
        env.update(SCHEMATHESIS_HOOKS="tests.contract.fuzz_hooks", KONBINI_FUZZ_STATE=str(state),
                   PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT),
                                                            env.get("PYTHONPATH")))))
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                            timeout=600, check=False, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert "No issues found" in output or "passed" in output, output[-4000:]


def _tls(contract: Contract, cert: tuple[Path, Path]) -> tuple[str, ...]:
    return ("--request-cert", str(cert[0]), "--request-cert-key", str(cert[1]),
            "--tls-verify", str(contract.ca))


def _mint_terminal(contract: Contract, directory: Path, number: int) -> tuple[Path, Path]:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"kiosk-fuzz-{number}"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, FUZZ_CHAIN),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"store-fuzz-{number}")])
    return issue_tls_client_cert(DevPki.at(contract.pki), subject, directory / f"t{number}")


@pytest.fixture(scope="module")
def fuzz_state(contract: Contract, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the hooks (tests/contract/fuzz_hooks.py) need: a resident of 検証市
    with a card in a wallet of the fuzzing's own, and a chain certificate
    (CN=chain:contract-fuzz) with one enrolled terminal and one not yet enrolled."""
    directory = tmp_path_factory.mktemp("fuzz-state")
    household = _fetch(f"{contract.admin_url}/admin/v1/households",
                       headers={"Authorization": f"Bearer {contract.admin_token}"}, body={
                           "address": "試験県検証市本町1番地", "members": [{
                               "name": "検証 一郎", "name_kana": "けんしょう いちろう",
                               "birth_date": "1980-04-01", "sex": "男",
                               "relationship": "世帯主", "moved_in_on": "2010-04-01"}, {
                               "name": "検証 花子", "name_kana": "けんしょう はなこ",
                               "birth_date": "1982-06-01", "sex": "女",
                               "relationship": "妻", "moved_in_on": "2010-04-01"}]})
    resident = household["residents"][0]["resident_code"]
    _fetch(f"{contract.admin_url}/admin/v1/residents/{resident}/seal", method="PUT",
           headers={"Authorization": f"Bearer {contract.admin_token}"}, body={})
    card, _ = asyncio.run(issue_card(contract.system.center_url, contract.pki,
                                     PersonaCard("fuzz-resident", CODE), Clock(
                                         parse_instant(BASE_CLOCK)), resident=resident))
    Wallet(directory / "wallet").put("fuzz-resident", card, municipality_code=CODE,
                                     resident_code=resident)
    chain_cert, chain_key = issue_tls_client_cert(
        DevPki.at(contract.pki),
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"chain:{FUZZ_CHAIN}")]),
        directory / "chain")
    enrolled, _ = _mint_terminal(contract, directory, 1)
    waiting, _ = _mint_terminal(contract, directory, 2)
    terminal = _fetch(f"{contract.system.center_url}/v1/chains/{FUZZ_CHAIN}/terminals",
                      client_context(chain_cert, chain_key, contract.ca),
                      body={"certificate": enrolled.read_text(), "address": "検証市（見本）"})
    kiosk_cert, kiosk_key = contract.kiosk_cert()
    state = directory / "state.json"
    state.write_text(json.dumps({
        "center_url": contract.system.center_url, "cert": str(kiosk_cert),
        "key": str(kiosk_key), "ca": str(contract.ca), "wallet": str(directory / "wallet"),
        "card": "fuzz-resident", "code": CODE, "foreign_code": "131016",
        "chain": FUZZ_CHAIN, "chain_cert": str(chain_cert),
        "chain_key": str(chain_key), "fingerprint": terminal["fingerprint"],
        "terminal_pem": waiting.read_text()}), encoding="utf-8")
    return state


@pytest.fixture(scope="module")
def center_document(contract: Contract) -> dict:
    return _fetch(f"{contract.system.public_url}/v1/openapi.json")


def test_kiosk_api(contract: Contract, center_document: dict, fuzz_state: Path,
                   tmp_path: Path) -> None:
    """Stateful: the links of the document take a new session's id into the
    calls after it. Past not-authenticated too: the hooks put a session the
    fuzz resident's card authenticated into most calls (menu, orders with the
    menu's types and fees, use registrations) and a real order into the
    downloads, results and store reports."""
    schemathesis(center_document, contract.system.center_url, tmp_path, "--include-tag",
                 "kiosk", *_tls(contract, contract.kiosk_cert()),
                 phases="examples,coverage,fuzzing,stateful", state=fuzz_state)


def test_chain_registry_and_metrics(contract: Contract, center_document: dict,
                                    fuzz_state: Path, tmp_path: Path) -> None:
    """The terminal registry of the fuzzing's own chain (its certificate, its
    terminals: the hooks), and /metrics (any client certificate of the TLS CA)."""
    state = json.loads(fuzz_state.read_text(encoding="utf-8"))
    schemathesis(center_document, contract.system.center_url, tmp_path,
                 "--include-tag", "chain", "--include-tag", "metrics",
                 "--request-cert", state["chain_cert"], "--request-cert-key", state["chain_key"],
                 "--tls-verify", str(contract.ca), state=fuzz_state)


def test_municipality_api(contract: Contract, center_document: dict, fuzz_state: Path,
                          tmp_path: Path) -> None:
    """The reads of the hooks take 検証市's own code (statements as JSON, PDF, CSV)."""
    schemathesis(center_document, contract.system.center_url, tmp_path, "--include-tag",
                 "municipality", *_tls(contract, contract.municipal_cert()), state=fuzz_state)


def test_public_site(contract: Contract, center_document: dict, tmp_path: Path) -> None:
    schemathesis(center_document, contract.system.public_url, tmp_path, "--include-tag",
                 "public", "--exclude-path", "/v1/verify")


def test_public_upload(contract: Contract, center_document: dict, tmp_path: Path) -> None:
    schemathesis(center_document, contract.system.public_url, tmp_path, "--include-path",
                 "/v1/verify")


def test_municipal_server_api(contract: Contract, tmp_path: Path) -> None:
    document = _fetch(f"{contract.municipal_url}/v1/openapi.json",
                      contract.system.ssl_as_center())
    schemathesis(document, contract.municipal_url, tmp_path,
                 *_tls(contract, contract.center_cert()))


def test_clerk_admin_api(contract: Contract, tmp_path: Path) -> None:
    bearer = f"Bearer {contract.admin_token}"
    document = _fetch(f"{contract.admin_url}/admin/v1/openapi.json",
                      headers={"Authorization": bearer})
    schemathesis(document, contract.admin_url, tmp_path, "--header",
                 f"Authorization: {bearer}")
