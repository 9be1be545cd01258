"""The kiosk UI process on its own port runs an issuance through the real
protocol (the screen-by-screen browser UI is built on the same endpoints)."""

from __future__ import annotations

import aiohttp

from tests.conftest import System
from tests.support import pdf_pages_text


async def test_kiosk_ui_issues_through_the_center(system: System) -> None:
    base = f"http://127.0.0.1:{system.topology.ports.kiosk_ui}"
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/") as response:
            assert response.status == 200
            assert "キオスク端末" in await response.text()
        async with session.get(base + "/api/wallet") as response:
            keys = {card["key"] for card in (await response.json())["cards"]}
        assert {"kasumi-taro", "kasumi-jiro", "face-auth"} <= keys
        async with session.post(base + "/api/issue", json={
                "persona": "kasumi-taro", "pin": "1234", "type": "juminhyo", "copies": 1,
                "options": {"members": "household"}}) as response:
            result = await response.json()
        assert result["ok"] is True, result
        async with session.get(base + result["files"][0]) as response:
            assert response.content_type == "application/pdf"
            pdf = await response.read()
        assert "霞 太郎" in pdf_pages_text(pdf)[0]
        async with session.post(base + "/api/issue", json={
                "persona": "kasumi-jiro", "pin": "1234", "type": "juminhyo"}) as response:
            refused = await response.json()
        assert refused["ok"] is False
        assert refused["problem"]["reason"] == "under-15"
        async with session.get(base + "/prints/" + "0" * 32 + "/..%2F..%2Fpki.pdf") as response:
            assert response.status == 404
