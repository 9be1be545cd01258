"""Identities and a municipal server of the contract tests' own, so that
fuzzing changes nothing another test relies on.

- a kiosk terminal `kiosk-contract` (its own rate budget) and a municipality
  `011002` (a fictional 検証市 under a valid JIS X 0402 code that no other test
  uses), both issued by the session's TLS CA into a PKI directory of their own;
- a municipal server for 011002 with an empty register and its clerk's admin
  API, registered with the session's center like any other municipality."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from konbini.devpki import ensure_dev_pki
from konbini.tls import client_context
from konbini.topology import Ports
from tests.conftest import BASE_CLOCK, System

CODE = "011002"
TERMINAL = ("kiosk-contract", "seven-eleven", "store-contract")
PROFILE = {
    "code": CODE, "name": "検証市", "prefecture": "試験県",
    "mayor_title": "検証市長", "mayor_name": "見本 太郎",
    "port": 0, "admin_port": 0, "tax_years": 2,
    "services": [{"type": "juminhyo", "fee_yen": 200}, {"type": "inkan", "fee_yen": 200},
                 {"type": "koseki_zenbu", "fee_yen": 450}, {"type": "risai", "fee_yen": 0}],
}
# What the fresh PKI copies from the session's: the CAs sign, the center's
# certificate fuzzes the municipal server.
SHARED_PKI_FILES = ("tls-ca.key.pem", "tls-ca.cert.pem", "jpki-ca.key.pem", "jpki-ca.cert.pem",
                    "center.key.pem", "center.cert.pem",
                    # so 011002's key derives from the center's secret (issue 14)
                    "subject-binding.secret")


@dataclass
class Contract:
    """The contract tests' own corner of the session's system."""

    system: System
    pki: Path
    municipal_port: int
    admin_port: int
    admin_token: str

    @property
    def ca(self) -> Path:
        return self.pki / "tls-ca.cert.pem"

    def kiosk_cert(self) -> tuple[Path, Path]:
        return (self.pki / "kiosk" / f"{TERMINAL[0]}.cert.pem",
                self.pki / "kiosk" / f"{TERMINAL[0]}.key.pem")

    def municipal_cert(self) -> tuple[Path, Path]:
        return (self.pki / "municipal" / f"{CODE}.cert.pem",
                self.pki / "municipal" / f"{CODE}.key.pem")

    def center_cert(self) -> tuple[Path, Path]:
        return self.pki / "center.cert.pem", self.pki / "center.key.pem"

    def ssl_as_kiosk(self) -> ssl.SSLContext:
        return client_context(*self.kiosk_cert(), self.ca)

    def ssl_as_municipality(self) -> ssl.SSLContext:
        return client_context(*self.municipal_cert(), self.ca)

    @property
    def municipal_url(self) -> str:
        return f"https://127.0.0.1:{self.municipal_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"


def _registered(system: System, context: ssl.SSLContext, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"{system.center_url}/v1/municipalities/{CODE}"
    while True:
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                if json.loads(response.read())["status"] == "active":
                    return
        except (urllib.error.URLError, OSError, ssl.SSLError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{CODE} did not register with the center in {timeout}s")
        time.sleep(0.2)


# Package scope: 検証市 is withdrawn from the center before the other tests run.
@pytest.fixture(scope="package")
def contract(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Contract]:
    var = tmp_path_factory.mktemp("contract-var")
    pki = var / "pki"
    pki.mkdir(mode=0o700)
    for name in SHARED_PKI_FILES:
        shutil.copy2(system.pki / name, pki / name)
    ensure_dev_pki(pki, municipalities=(CODE,), terminals=(TERMINAL,))
    # the center serves only enrolled terminals, as a chain enrols them
    system.topology.enrol_terminals([pki / "kiosk" / f"{TERMINAL[0]}.cert.pem"],
                                    address="試験県検証市本町3番地")
    profile = var / f"{CODE}.json"
    profile.write_text(json.dumps(PROFILE, ensure_ascii=False), encoding="utf-8")
    ports = Ports.free()
    port, admin_port = ports.center_api, ports.center_public  # two free ports
    log = (var / "municipal.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "municipal_server", "serve", "--code", str(profile),
         "--var", str(var), "--port", str(port), "--admin-port", str(admin_port),
         "--center", system.center_url, "--no-personas"],
        env={**os.environ, "KONBINI_CLOCK": BASE_CLOCK, "PYTHONUNBUFFERED": "1"},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    contract = None
    try:
        as_municipality = client_context(pki / "municipal" / f"{CODE}.cert.pem",
                                         pki / "municipal" / f"{CODE}.key.pem",
                                         pki / "tls-ca.cert.pem")
        _registered(system, as_municipality, timeout=90)
        token = (var / "municipal" / CODE / "admin-token").read_text().strip()
        contract = Contract(system, pki, port, admin_port, token)
        yield contract
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if contract is not None:  # withdraw 検証市 so the center stops checking on it
            request = urllib.request.Request(
                f"{system.center_url}/v1/municipalities/{CODE}", method="DELETE")
            with contextlib.suppress(urllib.error.URLError, OSError):
                urllib.request.urlopen(request, context=contract.ssl_as_municipality(),
                                       timeout=10).close()
