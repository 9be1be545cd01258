"""Each persona that must be refused is refused with the exact code and
reason, and no certificate comes out."""

from __future__ import annotations

import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System
from tests.support import table_count

REFUSALS = [
    # persona, type, code, reason
    ("kasumi-jiro", "juminhyo", "resident-ineligible", "under-15"),
    ("moved-out", "juminhyo", "resident-ineligible", "moved-out"),
    ("moving-out", "juminhyo", "resident-ineligible", "moving-out"),
    ("deceased", "juminhyo", "resident-ineligible", "deceased"),
    ("support-measure", "juminhyo", "resident-ineligible", "support-measure"),
    ("gaiji", "juminhyo", "resident-ineligible", "unsupported-characters"),
    ("no-seal", "inkan", "type-unavailable", "seal-not-registered"),
    ("seal-abolished", "inkan", "type-unavailable", "seal-not-registered"),
    ("face-auth", "juminhyo", "card-face-auth", None),
    ("lost-card", "juminhyo", "card-suspended", None),
    ("expired-card", "juminhyo", "card-expired", None),
    ("locked", "juminhyo", "pin-locked", None),
    ("yokohama", "juminhyo", "municipality-unavailable", None),
]


@pytest.mark.parametrize(("persona", "cert_type", "code", "reason"), REFUSALS,
                         ids=[r[0] for r in REFUSALS])
async def test_persona_refused(system: System, kiosk: KioskClient, wallet: Wallet, tmp_path,
                               persona: str, cert_type: str, code: str,
                               reason: str | None) -> None:
    orders_before = table_count(system.center_db, "orders")
    card = wallet.get(persona)
    pin = None if card.credential == "face_auth" else "1234"
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(card, pin, cert_type, out_dir=tmp_path)
    problem = refused.value.problem
    assert problem["code"] == code
    if reason is not None:
        assert problem["reason"] == reason
    assert problem.get("detail")
    assert list(tmp_path.iterdir()) == []
    assert table_count(system.center_db, "orders") == orders_before


async def test_municipality_unavailable_says_when_it_opens(kiosk: KioskClient,
                                                           wallet: Wallet) -> None:
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(wallet.get("yokohama"), "1234", "juminhyo")
    assert refused.value.problem["status"] == 503
    assert refused.value.problem["opens_at"] > "2026-12"


async def test_refused_at_order_time_too(system: System, kiosk: KioskClient,
                                         wallet: Wallet) -> None:
    """A kiosk that skips the menu still gets no certificate."""
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("no-seal"), "1234")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.order(session["session_id"], "inkan", 1, {}, 200)
    assert refused.value.problem["code"] == "type-unavailable"
    assert refused.value.problem["reason"] == "seal-not-registered"
    await kiosk.end_session(session["session_id"])


async def test_no_seal_still_gets_a_juminhyo(kiosk: KioskClient, wallet: Wallet) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("no-seal"), "1234")
    menu = await kiosk.menu(session["session_id"])
    items = {i["type"]: i for i in menu["items"]}
    assert items["juminhyo"]["available"] is True
    assert items["inkan"] == {"type": "inkan", "label": "印鑑登録証明書", "fee_yen": 200,
                              "available": False, "reason": "seal-not-registered",
                              "message": "印鑑登録がありません",
                              "municipality": {"code": "131016", "name": "千代田区"}}
    await kiosk.end_session(session["session_id"])


async def test_member_outside_the_household(kiosk: KioskClient, wallet: Wallet) -> None:
    from municipal_server.personas import member_id

    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.order(session["session_id"], "juminhyo", 1,
                          {"members": [member_id("131016", "no-seal")]}, 200)
    assert refused.value.problem["code"] == "member-not-in-household"
    assert refused.value.problem["status"] == 403
    await kiosk.end_session(session["session_id"])


async def test_fee_mismatch_gives_the_current_total(kiosk: KioskClient, wallet: Wallet) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.order(session["session_id"], "juminhyo", 2, {}, 200)
    assert refused.value.problem["code"] == "fee-mismatch"
    assert refused.value.problem["fee_yen"] == 400
    await kiosk.end_session(session["session_id"])
