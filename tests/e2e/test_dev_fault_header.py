"""A municipal server started without ``--dev`` ignores the center's
``Konbini-Dev-Fault`` header (issue 14, item 3): asked for a wrong-person
certificate, it still renders the cardholder's. The same request to a server
started with ``--dev`` shows the header is otherwise obeyed.

Each server is a real municipal server of 千代田区 on its own loopback port with
its own register, over mutual TLS with the center's certificate, configured from
the command line as ``python -m municipal_server serve`` does; it does not
register with the session's center, so the rest of the suite is untouched."""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

import pytest

from konbini.clock import Clock, parse_instant
from konbini.wire import DEV_FAULT_HEADER
from municipal_server.__main__ import parse_args
from municipal_server.app import MunicipalConfig, running_municipal_server
from municipal_server.personas import resident_code
from municipal_server.profile import load_profile
from tests.conftest import BASE_CLOCK, Raw, System
from tests.support import pdf_pages_text

CHIYODA = "131016"
KIOSK = {"terminal_id": "kiosk-0001", "chain": "seven-eleven", "store_id": "store-0001"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def issue_with_fault(system: System, var: Path, argv: list[str]) -> dict[str, Any]:
    """Start 千代田区's server as ``serve --code 131016 <argv>`` would, ask it for
    霞 太郎's 住民票記載事項証明書 with the wrong-person fault, and stop it."""
    args = parse_args(["serve", "--code", CHIYODA, *argv])
    config = MunicipalConfig(profile=load_profile(CHIYODA), var_dir=var, pki_dir=system.pki,
                             port=free_port(), center_url=system.center_url,
                             register_with_center=False, dev=args.dev)
    async with running_municipal_server(config, Clock(parse_instant(BASE_CLOCK))):
        center = Raw(config.endpoint, system.ssl_as_center())
        try:
            status, body, _ = await center.call(
                "POST", "/v1/certificates",
                json_body={"request_id": f"dev-header-{var.name}",
                           "resident_code": resident_code(CHIYODA, "kasumi-taro"),
                           "type": "juminhyo_kisai", "copies": 1, "options": {},
                           "at": BASE_CLOCK, "kiosk": KIOSK},
                headers={DEV_FAULT_HEADER: "wrong-person"})
        finally:
            await center.close()
    assert status == 201, body
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("argv", [[], ["--dev"]], ids=["without-dev", "with-dev"])
async def test_the_dev_fault_header_is_obeyed_only_with_dev(
        system: System, tmp_path: Path, argv: list[str]) -> None:
    body = await issue_with_fault(system, tmp_path / "municipal", argv)
    [certificate] = body["certificates"]
    front = pdf_pages_text(base64.b64decode(certificate["pdf"]))[0]
    # The answer states the cardholder either way (that is what the fault fakes) …
    assert certificate["subjects"] == [resident_code(CHIYODA, "kasumi-taro")]
    if argv:  # … but with --dev the page is another resident's,
        assert "霞 太郎" not in front
    else:  # and without it, the page is the cardholder's: the header was ignored.
        assert "霞 太郎" in front
