"""The sheets of one upload together (issue 14), as pure rules: a certificate of
several sheets is valid only whole, once each, all of one certificate."""

from __future__ import annotations

from typing import Any

from center import inquiry
from center.inquiry import Record, TokenCheck


def claims(cid: str, m: int | None, n: int | None) -> dict[str, Any]:
    found: dict[str, Any] = {"cid": cid, "num": f"131016-2026-{cid}", "typ": "koseki_zenbu",
                             "mun": "131016", "iat": 1, "dig": "x"}
    if m is not None:
        found["pg"] = [m, n]
    return found


def valid(c: dict[str, Any]) -> TokenCheck:
    return TokenCheck("valid", "signed by the center", "k1", c)


RECORD = Record("131016-2026-a", "koseki_zenbu", "131016", "printed")


def test_the_sheets_together() -> None:
    whole = [claims("a", m, 3) for m in (1, 2, 3)]
    assert inquiry.sheets_check(whole) == "complete"
    assert inquiry.sheets_check(list(reversed(whole))) == "complete"  # in any order
    assert inquiry.sheets_check([whole[0], claims("b", 2, 3), whole[2]]) == "mismatch"
    assert inquiry.sheets_check([whole[0], claims("a", 2, 4), whole[2]]) == "mismatch"
    assert inquiry.sheets_check(whole[:2]) == "missing"
    assert inquiry.sheets_check([*whole, whole[1]]) == "repeated"
    assert inquiry.sheets_check([whole[1]]) == "one-sheet"
    assert inquiry.sheets_check([claims("a", None, None)]) == "complete"  # one sheet, no pg
    assert inquiry.sheets_check([whole[0], None, whole[2]]) == "not-checked"
    # A malformed pg is no sheet number: one sheet of one.
    assert inquiry.sheet_position({"pg": [3, 2]}) == (1, 1)
    assert inquiry.sheet_position({"pg": [True, 2]}) == (1, 1)


def test_the_verdict_of_several_sheets() -> None:
    whole = [valid(claims("a", m, 2)) for m in (1, 2)]
    assert inquiry.assess_sheets(whole, RECORD, ["matches", "matches"]) == (
        "valid", "printed", "complete")
    # An edited front on any sheet.
    assert inquiry.assess_sheets(whole, RECORD, ["matches", "edited"])[0] == "unknown"
    # Another certificate's sheet put in: not valid, whatever each sheet proves alone.
    swapped = [whole[0], valid(claims("b", 2, 2))]
    assert inquiry.assess_sheets(swapped, RECORD, ["matches", "matches"]) == (
        "unknown", "printed", "mismatch")
    # A forged sheet: the signature decides.
    forged = [whole[0], TokenCheck("bad-signature", "no", "k1")]
    assert inquiry.assess_sheets(forged, RECORD, ["matches", "not-checked"]) == (
        "unknown", "not-checked", "not-checked")
    # A sheet without a QR code.
    assert inquiry.assess_sheets([whole[0], None], RECORD, ["matches", "not-checked"])[0] \
        == "unreadable"
    # Void stays void when the sheets are whole.
    void = Record("131016-2026-a", "koseki_zenbu", "131016", "void", "paper-jam")
    assert inquiry.assess_sheets(whole, void, ["matches", "matches"])[0] == "void"
