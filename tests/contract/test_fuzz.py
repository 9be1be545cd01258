"""Property-based API tests: schemathesis generates requests from each served
OpenAPI document (valid and invalid ones) and checks every answer: no 5xx, a
documented status code, the documented content type and response schema.

Bounded so the whole set stays within about two minutes on 2 cores: a fixed
seed, a few examples per operation, no shrinking. Operations that would change
what other tests rely on are left out: the dev clock and fault switch (the
session's center is shared)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.contract.conftest import Contract

MAX_EXAMPLES = int(os.environ.get("KONBINI_FUZZ_EXAMPLES", "15"))
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


def _fetch(url: str, context=None, headers=None) -> dict:  # type: ignore[no-untyped-def]
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.loads(response.read())


def schemathesis(document: dict, base_url: str, tmp_path: Path, *options: str,
                 phases: str = "examples,coverage,fuzzing") -> None:
    """Run schemathesis over ``document`` (as served) against ``base_url``;
    fail with its report when any check fails."""
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(path), "--url", base_url,
        "--checks", CHECKS, "--phases", phases,
        "--max-examples", str(MAX_EXAMPLES), "--seed", "20261124", "--no-shrink",
        "--generation-database", "none", "--workers", "1", "--request-timeout", "30",
        "--suppress-health-check", "all", "--no-color", "--output-truncate", "true",
        *options]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                            timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert "No issues found" in output or "passed" in output, output[-4000:]


def _tls(contract: Contract, cert: tuple[Path, Path]) -> tuple[str, ...]:
    return ("--request-cert", str(cert[0]), "--request-cert-key", str(cert[1]),
            "--tls-verify", str(contract.ca))


@pytest.fixture(scope="module")
def center_document(contract: Contract) -> dict:
    return _fetch(f"{contract.system.public_url}/v1/openapi.json")


def test_kiosk_api(contract: Contract, center_document: dict, tmp_path: Path) -> None:
    # stateful: the links of the document take a new session's id into the calls after it
    schemathesis(center_document, contract.system.center_url, tmp_path, "--include-tag",
                 "kiosk", *_tls(contract, contract.kiosk_cert()),
                 phases="examples,coverage,fuzzing,stateful")


def test_municipality_api(contract: Contract, center_document: dict, tmp_path: Path) -> None:
    schemathesis(center_document, contract.system.center_url, tmp_path, "--include-tag",
                 "municipality", *_tls(contract, contract.municipal_cert()))


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
