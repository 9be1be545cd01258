"""The test-environment fault switch of the center (``/v1/dev/faults``): a
municipal server marked down or slow is seen by kiosks exactly as a real
outage would be, and clearing the fault brings the service back."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import Raw, System


@pytest.fixture
async def faults(as_kiosk: Raw) -> AsyncIterator[Raw]:
    yield as_kiosk
    status, body, _ = await as_kiosk.call("PUT", "/v1/dev/faults", json_body={})
    assert status == 200, body


async def _issue(kiosk: KioskClient, wallet: Wallet) -> dict:  # type: ignore[type-arg]
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo",
                               options={"members": "household"})
    return result.settlement


async def test_a_municipality_marked_down_is_unavailable_until_cleared(
        faults: Raw, as_chiyoda: Raw, kiosk: KioskClient, wallet: Wallet) -> None:
    status, body, _ = await faults.call("PUT", "/v1/dev/faults",
                                        json_body={"municipalities_down": ["131016"]})
    assert status == 200, body
    assert body == {"municipalities_down": ["131016"], "municipalities_slow": [],
                    "municipalities_wrong_person": [], "municipalities_foreign_page": []}
    status, body, _ = await faults.call("GET", "/v1/dev/faults")
    assert body["municipalities_down"] == ["131016"]
    _, registration, _ = await as_chiyoda.call("GET", "/v1/municipalities/131016")
    assert registration["status"] == "unreachable"

    with pytest.raises(KioskProblem) as refused:
        await _issue(kiosk, wallet)
    assert refused.value.code == "municipality-unavailable"
    assert refused.value.problem["status"] == 503

    # Another municipality (宮崎市) is not affected.
    other = await kiosk.issue(wallet.get("bango-hanako"), "1234", "juminhyo",
                              options={"members": "household"})
    assert other.settlement["charged_yen"] > 0

    status, body, _ = await faults.call("PUT", "/v1/dev/faults", json_body={})
    assert body == {"municipalities_down": [], "municipalities_slow": [],
                    "municipalities_wrong_person": [], "municipalities_foreign_page": []}
    _, registration, _ = await as_chiyoda.call("GET", "/v1/municipalities/131016")
    assert registration["status"] == "active"
    settlement = await _issue(kiosk, wallet)
    assert settlement == {"charged_yen": 200, "refunded_yen": 0}


async def test_a_slow_municipality_times_out_with_504(faults: Raw, kiosk: KioskClient,
                                                      wallet: Wallet) -> None:
    status, body, _ = await faults.call("PUT", "/v1/dev/faults",
                                        json_body={"municipalities_slow": ["131016"]})
    assert status == 200, body
    started = time.monotonic()
    with pytest.raises(KioskProblem) as refused:
        await _issue(kiosk, wallet)
    assert refused.value.code == "upstream-timeout"
    assert refused.value.problem["status"] == 504
    # The center really waited for its municipal timeout before giving up.
    assert time.monotonic() - started >= 10


@pytest.mark.parametrize("body", [
    {"municipalities_down": ["13101"]},        # not six digits
    {"municipalities_down": "131016"},         # not a list
    {"municipalities_down": ["131016", "131016"]},
    {"unknown": []},
])
async def test_malformed_fault_bodies_are_refused(faults: Raw, body: dict) -> None:  # type: ignore[type-arg]
    status, answer, _ = await faults.call("PUT", "/v1/dev/faults", json_body=body)
    assert status == 422, answer
    assert answer["code"] == "invalid-request"


async def test_municipal_servers_cannot_be_faulted_by_an_anonymous_client(
        system: System) -> None:
    async with aiohttp.ClientSession() as session, session.put(
            f"{system.public_url}/v1/dev/faults",
            json={"municipalities_down": ["131016"]}) as response:
        assert response.status == 404  # the public site has no dev routes at all
