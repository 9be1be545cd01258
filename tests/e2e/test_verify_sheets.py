"""The inquiry site verifies a certificate of several sheets as a whole (issue 14):
the 12-person 戸籍 PDF the kiosk printed is `valid`, every sheet listed; the same PDF
with one sheet swapped for the same sheet of another certificate, with a sheet left
out, or with a sheet twice, is not."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
from jsonschema import Draft202012Validator

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from tests.conftest import System
from tests.e2e.test_subject_mismatch import _sheets, _verify
from tests.e2e.test_verify import _schema


def assemble(sheets: list[bytes]) -> bytes:
    """Sheets (each a front and a back) put together into one PDF, as uploaded."""
    out = pikepdf.new()
    opened = [pikepdf.open(io.BytesIO(sheet)) for sheet in sheets]
    try:
        for sheet in opened:
            out.pages.extend(sheet.pages)
        buffer = io.BytesIO()
        out.save(buffer)
        return buffer.getvalue()
    finally:
        for sheet in opened:
            sheet.close()


async def test_the_whole_12_person_koseki_verifies_and_a_swapped_sheet_is_refused(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    first = await kiosk.issue(wallet.get("large-family"), "1234", "koseki_zenbu",
                              out_dir=tmp_path / "first")
    pdf = first.files[0].read_bytes()
    certificate = first.order["certificates"][0]
    sheets = _sheets(pdf)
    n = len(sheets)
    assert n >= 2

    schema = Draft202012Validator(await _schema(system))  # the served VERIFY_RESULT
    verdict = await _verify(system, pdf)
    assert verdict["status"] == "valid", verdict
    assert not list(schema.iter_errors(verdict))
    assert verdict["source"] == "pdf"
    assert verdict["checks"] == {"signature": "valid", "record": "printed", "front": "matches",
                                 "front_image": "recovered", "sheets": "complete"}
    assert verdict["certificate"]["certificate_number"] == certificate["certificate_number"]
    assert verdict["certificate"]["sheets"] == n
    assert [(s["sheet"], s["pg"], s["certificate_id"], s["front"]) for s in verdict["sheets"]] \
        == [(m, [m, n], certificate["certificate_id"], "matches") for m in range(1, n + 1)]
    assert all(s["front_image_url"] for s in verdict["sheets"])

    # Another 戸籍 of the same family, a minute later: another certificate.
    second = await kiosk.issue(wallet.get("large-family"), "1234", "koseki_zenbu",
                               out_dir=tmp_path / "second")
    other = _sheets(second.files[0].read_bytes())
    assert len(other) == n
    swapped = assemble([sheets[0], other[1], *sheets[2:]])
    verdict = await _verify(system, swapped)
    assert verdict["status"] == "unknown", verdict
    assert verdict["checks"]["sheets"] == "mismatch"
    assert not list(schema.iter_errors(verdict))
    assert "別の証明書の用紙" in verdict["message"]
    # Each sheet says whose it is: the intruder is the other certificate's sheet 2.
    assert verdict["sheets"][1]["certificate_id"] == \
        second.order["certificates"][0]["certificate_id"]
    assert verdict["sheets"][1]["pg"] == [2, n]

    # A sheet left out, or one sheet twice: not the certificate either.
    verdict = await _verify(system, assemble(sheets[:-1]))
    assert (verdict["status"], verdict["checks"]["sheets"]) == ("unknown", "missing")
    verdict = await _verify(system, assemble([*sheets, sheets[0]]))
    assert (verdict["status"], verdict["checks"]["sheets"]) == ("unknown", "repeated")

    # One sheet alone still verifies on its own, and says it is one of several.
    verdict = await _verify(system, sheets[1])
    assert (verdict["status"], verdict["checks"]["sheets"]) == ("valid", "one-sheet")
    assert verdict["sheets"][0]["pg"] == [2, n]
