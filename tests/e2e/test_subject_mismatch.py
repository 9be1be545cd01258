"""Issue 14, over the wire: the center proves every certificate is the cardholder's
and of one piece before it adds the back page. A municipal server made to fail as
real ones did (``/v1/dev/faults``: a wrong person, a foreign page 2) is refused with
``upstream-error`` / ``subject-mismatch``, nothing is charged and an incident is
recorded; a 12-person 戸籍 and household print on several sheets that each verify
at the inquiry site."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pikepdf
import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from municipal_server.personas import LARGE_FAMILY, resident_code
from tests.conftest import Raw, System
from tests.support import (
    database_dump,
    pdf_pages_text,
    pdf_qr_codes,
    query_one,
    table_count,
)

CHIYODA = "131016"
OOYA_NAMES = [f"大家 {given}" for _, given, *_ in LARGE_FAMILY]


@pytest.fixture
async def faults(as_kiosk: Raw) -> AsyncIterator[Raw]:
    yield as_kiosk
    status, body, _ = await as_kiosk.call("PUT", "/v1/dev/faults", json_body={})
    assert status == 200, body


def _incidents(system: System, kind: str) -> int:
    # The migration step made the incidents table (revision c0002).
    return int(query_one(system.center_db, "SELECT count(*) FROM incidents WHERE kind = ?",
                         kind))  # type: ignore[arg-type]


async def _refused(system: System, kiosk: KioskClient, wallet: Wallet, persona: str,
                   cert_type: str, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    orders = table_count(system.center_db, "orders")
    certificates = table_count(system.center_db, "certificates")
    incidents = _incidents(system, kind)
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(wallet.get(persona), "1234", cert_type, options=options)
    problem = refused.value.problem
    assert (problem["code"], problem["status"], problem.get("reason")) == (
        "upstream-error", 502, "subject-mismatch")
    # Nothing printed, nothing charged: no order, no certificate, one incident.
    assert table_count(system.center_db, "orders") == orders
    assert table_count(system.center_db, "certificates") == certificates
    assert _incidents(system, kind) == incidents + 1
    row = query_one(system.center_db,
                    "SELECT municipality_code || ' ' || detail_code FROM incidents "
                    "WHERE kind = ? ORDER BY created_at DESC LIMIT 1", kind)
    return {"problem": problem, "incident": row}


async def test_a_server_that_renders_another_resident_is_refused(
        system: System, faults: Raw, kiosk: KioskClient, wallet: Wallet) -> None:
    status, body, _ = await faults.call("PUT", "/v1/dev/faults", json_body={
        "municipalities_wrong_person": [CHIYODA]})
    assert status == 200, body
    assert body["municipalities_wrong_person"] == [CHIYODA]
    for cert_type, options in (("juminhyo", {"members": "household"}),
                               ("juminhyo_kisai", {}), ("koseki_zenbu", {})):
        found = await _refused(system, kiosk, wallet, "kasumi-taro", cert_type,
                               "subject-mismatch", options)
        # The statement said 霞 太郎; the pages were drawn from someone else's record.
        assert found["incident"] == f"{CHIYODA} subjects-page-1", cert_type
    # The incident holds identifiers only: no name, no resident code.
    dump = "\n".join(line for line in database_dump(system.center_db).splitlines()
                     if "incidents" in line)
    assert "霞" not in dump and resident_code(CHIYODA, "kasumi-taro") not in dump

    # Cleared, the same order prints and is charged.
    await faults.call("PUT", "/v1/dev/faults", json_body={})
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo_kisai")
    assert result.settlement["charged_yen"] > 0


async def test_a_foreign_page_2_is_refused_as_in_tokushima(
        system: System, faults: Raw, kiosk: KioskClient, wallet: Wallet) -> None:
    status, body, _ = await faults.call("PUT", "/v1/dev/faults", json_body={
        "municipalities_foreign_page": [CHIYODA]})
    assert status == 200, body
    for cert_type, options in (("koseki_zenbu", {}), ("juminhyo", {"members": "household"})):
        found = await _refused(system, kiosk, wallet, "large-family", cert_type,
                               "foreign-page", options)
        assert found["incident"] == f"{CHIYODA} subjects-page-2", cert_type
    # A certificate of one page has no page 2 to mix up: it prints.
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo",
                               options={"members": "household"})
    assert result.settlement["charged_yen"] > 0


async def _verify(system: System, data: bytes) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="sheet.pdf", content_type="application/pdf")
    async with aiohttp.ClientSession() as session, session.post(
            f"{system.public_url}/v1/verify", data=form) as response:
        assert response.status == 200
        return await response.json()  # type: ignore[no-any-return]


def _sheets(pdf: bytes) -> list[bytes]:
    """Each printed sheet (front, back) as the PDF a relying party would upload."""
    out = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for index in range(0, len(document.pages), 2):
            sheet = pikepdf.new()
            sheet.pages.extend(document.pages[index:index + 2])
            buffer = io.BytesIO()
            sheet.save(buffer)
            out.append(buffer.getvalue())
    return out


async def test_a_12_person_koseki_prints_on_several_sheets_that_each_verify(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    result = await kiosk.issue(wallet.get("large-family"), "1234", "koseki_zenbu",
                               out_dir=tmp_path)
    certificate = result.order["certificates"][0]
    number = certificate["certificate_number"]
    pdf = result.files[0].read_bytes()
    texts = pdf_pages_text(pdf)
    sheets = len(texts) // 2
    assert len(texts) % 2 == 0 and sheets >= 2
    fronts = texts[0::2]
    for m, front in enumerate(fronts, start=1):
        assert number in front
        assert f"{sheets}枚中{m}枚目" in re.sub(r"\s", "", front)
    everything = re.sub(r"\s", "", "".join(fronts))
    for _, given, *_ in LARGE_FAMILY:  # every person of the 戸籍 is on the certificate, once
        assert everything.count(f"【名】{given}") == 1, given
    assert "これは、戸籍に記録されている事項の全部を証明した書面である。" in fronts[-1]
    # One certificate, one fee, whatever its sheets.
    assert len(result.order["certificates"]) == 1
    assert result.settlement == {"charged_yen": result.order["fee_yen"], "refunded_yen": 0}

    # Every sheet has its back with a QR code and verifies on its own at the inquiry site.
    for m, sheet in enumerate(_sheets(pdf), start=1):
        assert pdf_qr_codes(pdf, page_index=2 * m - 1)
        verdict = await _verify(system, sheet)
        assert verdict["status"] == "valid", (m, verdict)
        assert verdict["checks"]["front"] == "matches", (m, verdict)
        assert verdict["certificate"]["certificate_number"] == number
        assert verdict["front_image_url"]


async def test_a_12_person_household_runs_over_several_pages(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    result = await kiosk.issue(wallet.get("large-family"), "1234", "juminhyo",
                               options={"members": "household", "relationship": True},
                               out_dir=tmp_path)
    number = result.order["certificates"][0]["certificate_number"]
    texts = pdf_pages_text(result.files[0].read_bytes())
    fronts = texts[0::2]
    # Three sheets: each member's block prints 住所を定めた年月日 and 届出日 (issue 15).
    assert len(fronts) == 3 and len(texts) == 6
    joined = re.sub(r"\s", "", "".join(fronts))
    for name in OOYA_NAMES:
        assert name.replace(" ", "") in joined, name
    for m, front in enumerate(fronts, start=1):
        assert number in front and f"3枚中{m}枚目" in re.sub(r"\s", "", front)
    assert result.settlement["charged_yen"] == result.order["fee_yen"]
