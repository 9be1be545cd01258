"""The center's hours over the wire: 06:30–23:00 Asia/Tokyo, closed 29 Dec – 3 Jan."""

from __future__ import annotations

import pytest

from tests.conftest import Raw

CASES = [
    ("2026-11-24T06:29:00+09:00", "2026-11-24T06:30:00+09:00"),
    ("2026-11-24T06:30:00+09:00", None),
    ("2026-11-24T22:59:00+09:00", None),
    ("2026-11-24T23:00:00+09:00", "2026-11-25T06:30:00+09:00"),
    ("2026-12-30T12:00:00+09:00", "2027-01-04T06:30:00+09:00"),
    ("2027-01-03T22:00:00+09:00", "2027-01-04T06:30:00+09:00"),
]


@pytest.mark.parametrize(("now", "opens_at"), CASES, ids=[c[0][:16] for c in CASES])
async def test_sessions_follow_the_service_calendar(as_kiosk: Raw, center_clock, now: str,
                                                    opens_at: str | None) -> None:
    await center_clock(now)
    status, body, _ = await as_kiosk.call("POST", "/v1/sessions", json_body={})
    if opens_at is None:
        assert status == 201, body
    else:
        assert (status, body["code"], body["opens_at"]) == (503, "service-closed", opens_at)
