"""The kiosk UI's own API (the browser's side of kiosk_sim), over the wire:
one kiosk per tab under an unguessable id, the screens as a state machine,
malformed input refused with problem documents, never a 500."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.conftest import System
from tests.support import pdf_pages_text


class Ui:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(self, method: str, path: str, body: Any = None,
                   raw: bytes | None = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"json": body} if raw is None else {
            "data": raw, "headers": {"Content-Type": "application/json"}}
        async with self.session.request(method, self.base + path, **kwargs) as response:
            if response.content_type in ("application/json", "application/problem+json"):
                return response.status, await response.json()
            return response.status, await response.read()


@pytest.fixture
async def ui(system: System) -> Any:
    async with aiohttp.ClientSession() as session:
        yield Ui(session, f"http://127.0.0.1:{system.topology.ports.kiosk_ui}")


async def test_one_issuance_through_the_screens(ui: Ui) -> None:
    status, page = await ui.call("GET", "/")
    assert status == 200 and "キオスク端末" in page.decode()
    status, tester = await ui.call("GET", "/api/tester")
    assert {"kasumi-taro", "face-auth"} <= {c["key"] for c in tester["cards"]}
    assert {"seven-eleven", "lawson", "familymart"} <= {s["chain"] for s in tester["stores"]}
    assert tester["clock"]["now"].startswith("2026-11-24T")
    # The wallet list shows keys, never the holders' names.
    assert "霞" not in str(tester)

    status, state = await ui.call("POST", "/api/kiosks", {"card": "kasumi-taro"})
    assert status == 201 and state["screen"] == "start"
    kiosk = f"/api/kiosks/{state['kiosk_id']}"
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("begin", {"language": "ja"}, "insert"),
        ("insert", {"reader": "card"}, "pin"),
        ("pin", {"pin": "1234"}, "menu"),
        ("select", {"type": "juminhyo"}, "options"),
        ("options", {"options": {"members": "household", "relationship": True}}, "copies"),
        ("copies", {"copies": 1}, "confirm"),
        ("confirm", {}, "payment"),
        ("money", {"yen": 500}, "payment"),
    ]
    for action, body, screen in steps:
        status, state = await ui.call("POST", f"{kiosk}/{action}", body)
        assert status == 200, state
        assert state["screen"] == screen, (action, state)
    assert state["change_yen"] == 300
    # Enough money: the machine takes no more.
    status, refused = await ui.call("POST", f"{kiosk}/money", {"yen": 10})
    assert status == 409 and refused["code"] == "conflict"
    status, state = await ui.call("POST", f"{kiosk}/print", {})
    while state["screen"] == "printing":
        status, state = await ui.call("GET", kiosk)
    assert state["screen"] == "result", state
    result = state["result"]
    assert (result["charged_yen"], result["refunded_yen"], result["change_yen"]) == (200, 0, 300)
    copy = result["copies"][0]
    status, pdf = await ui.call("GET", copy["pdf_url"])
    assert status == 200 and "霞 太郎" in pdf_pages_text(pdf)[0]
    status, png = await ui.call("GET", copy["pages"][1])
    assert status == 200 and png.startswith(b"\x89PNG")

    status, state = await ui.call("POST", f"{kiosk}/finish", {})
    assert state["screen"] == "take-card"
    # The card is out: the printed copy is gone from the kiosk.
    status, gone = await ui.call("GET", copy["pdf_url"])
    assert status == 404 and gone["code"] == "not-found"
    status, state = await ui.call("POST", f"{kiosk}/take-card", {})
    assert state["screen"] == "start"


async def test_a_wrong_screen_or_a_malformed_body_is_a_problem_not_a_500(ui: Ui) -> None:
    status, state = await ui.call("POST", "/api/kiosks", {})
    kiosk = f"/api/kiosks/{state['kiosk_id']}"
    cases: list[tuple[str, str, Any, bytes | None, int]] = [
        ("POST", f"{kiosk}/pin", {"pin": "1234"}, None, 409),          # not on the PIN screen
        ("POST", f"{kiosk}/pin", {"pin": "12a4"}, None, 422),
        ("POST", f"{kiosk}/begin", {"language": "fr"}, None, 422),
        ("POST", f"{kiosk}/money", {"yen": 3}, None, 422),
        ("POST", f"{kiosk}/register-use", {"municipality_code": "452017"}, None, 409),
        ("POST", f"{kiosk}/register-use", {"municipality_code": "45201"}, None, 422),
        ("POST", f"{kiosk}/register-use", {}, None, 422),
        ("POST", f"{kiosk}/begin", None, b"{not json", 422),
        ("POST", f"{kiosk}/begin", None, b"[]", 422),
        ("POST", f"{kiosk}/explode", {}, None, 404),
        ("POST", "/api/kiosks/" + "x" * 32 + "/begin", {"language": "ja"}, None, 404),
        ("PUT", f"{kiosk}/settings", {"terminal_id": "kiosk-9999"}, None, 422),
        ("PUT", f"{kiosk}/settings", {"card": "no-such-card"}, None, 404),
        ("PUT", f"{kiosk}/settings", {"paper_jam": 0}, None, 422),
        ("PUT", f"{kiosk}/settings", {"network": "sometimes"}, None, 422),
        ("PUT", "/api/tester/clock", {"now": 5}, None, 422),
        ("PUT", "/api/tester/faults", {"municipalities_down": ["1"]}, None, 422),
        ("GET", f"{kiosk}/prints/abc/1/page-1.png", None, None, 404),
    ]
    for method, path, body, raw, expected in cases:
        status, answer = await ui.call(method, path, body, raw)
        assert status == expected, (path, body, raw, answer)
        assert isinstance(answer, dict) and answer.get("code"), answer


async def test_the_message_table_speaks_both_languages(ui: Ui) -> None:
    status, table = await ui.call("GET", "/api/messages")
    assert status == 200
    assert table["problems"]["pin-incorrect"]["en"].startswith("Incorrect PIN")
    assert "{remaining}" in table["problems"]["pin-incorrect"]["ja"]
