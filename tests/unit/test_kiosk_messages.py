"""Every problem code a kiosk can meet has a message in Japanese and English."""

from __future__ import annotations

import re
from pathlib import Path

from kiosk_sim import card
from kiosk_sim.messages import GENERIC, PROBLEMS, REASONS, UI
from konbini.problems import PROBLEM_STATUS

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"  # the wire contract


def _api_md_codes() -> tuple[set[str], set[str]]:
    """The codes and reasons of the contract's error tables."""
    text = API_MD.read_text(encoding="utf-8")
    section = text[text.index("## Error codes"):]
    section = section[:section.index("## Demo environment")]
    codes = set(re.findall(r"^\| `([a-z0-9-]+)`", section, re.M))
    codes |= set(re.findall(r"`(card-[a-z]+)` / `", section))
    codes |= set(re.findall(r" / `([a-z-]+)` \|", section))
    reasons = set()
    for line in section.splitlines():
        if "`reason`" in line:
            reasons |= set(re.findall(r"`([a-z0-9-]+)`", line.split("`reason`", 1)[1]))
    return codes, reasons


def test_every_project_and_card_code_has_both_languages() -> None:
    card_codes = {cls.code for cls in (card.PinIncorrect, card.PinLocked, card.FaceAuthCard,
                                       card.NoCertificate, card.PinResetRefused)}
    for code in set(PROBLEM_STATUS) | card_codes | {"network-error", "download-corrupt"}:
        assert code in PROBLEMS, code
    for table in (PROBLEMS, REASONS, UI):
        for key, text in table.items():
            assert text["ja"].strip() and text["en"].strip(), key
            assert text["ja"] != text["en"], key
    assert GENERIC["ja"] and GENERIC["en"]


def test_every_code_and_reason_of_api_md_has_both_languages() -> None:
    codes, reasons = _api_md_codes()
    assert {"service-closed", "pin-incorrect", "card-revoked", "upstream-timeout"} <= codes
    assert {"under-15", "seal-not-registered"} <= reasons
    assert codes <= PROBLEMS.keys(), codes - PROBLEMS.keys()
    assert reasons <= REASONS.keys(), reasons - REASONS.keys()
