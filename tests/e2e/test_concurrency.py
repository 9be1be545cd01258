"""Twenty kiosks, twenty residents, one moment: every certificate carries its
own cardholder and no one else (the classic failure of this domain)."""

from __future__ import annotations

import asyncio
from datetime import date

from cryptography import x509
from cryptography.x509.oid import NameOID

from kiosk_sim.client import KioskClient, Terminal
from konbini.devpki import DevPki, issue_tls_client_cert
from municipal_server.personas import persona_households, resident_code, synthetic_household
from tests.conftest import SYNTHETIC_RESIDENTS, System
from tests.support import eventually, pdf_pages_text


async def test_twenty_kiosks_at_once(system: System, fresh_card, tmp_path) -> None:
    residents = [synthetic_household("131016", "", i) for i in range(SYNTHETIC_RESIDENTS)]
    names = [household.members[0][1].name for household in residents]
    assert len(set(names)) == SYNTHETIC_RESIDENTS
    cards = [await fresh_card("kasumi-taro", resident=resident_code("131016", key))
             for key in (h.members[0][0] for h in residents)]

    pki = DevPki.at(system.pki)
    terminals = []
    for i in range(SYNTHETIC_RESIDENTS):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"load-{i:02d}"),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "seven-eleven"),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"s-{i:02d}")])
        cert, key = issue_tls_client_cert(pki, subject, tmp_path / f"load-{i:02d}")
        terminals.append(Terminal(system.center_url, cert, key, system.pki / "tls-ca.cert.pem"))
    system.topology.enrol_terminals([t.cert for t in terminals])  # the center's registry

    start = asyncio.Event()
    ready = 0

    async def one(index: int):  # type: ignore[no-untyped-def]
        nonlocal ready
        async with KioskClient(terminals[index]) as client:
            ready += 1
            await start.wait()
            return await client.issue(cards[index], "1234", "juminhyo",
                                      options={"members": "household"},
                                      out_dir=tmp_path / f"out-{index:02d}")

    tasks = [asyncio.create_task(one(i)) for i in range(SYNTHETIC_RESIDENTS)]
    await eventually(lambda: ready == SYNTHETIC_RESIDENTS, every=0.01)  # all at the gate
    start.set()
    results = await asyncio.gather(*tasks)

    persona_names = {r.name for h in persona_households("131016", date(2026, 11, 24))
                     for _, r in h.members}
    for index, result in enumerate(results):
        front = pdf_pages_text(result.files[0].read_bytes())[0]
        assert names[index] in front
        for other_index, other in enumerate(names):
            if other_index != index:
                assert other not in front, (index, other)
        for other in persona_names:
            assert other not in front
    numbers = [r.order["certificates"][0]["certificate_number"] for r in results]
    assert len(set(numbers)) == SYNTHETIC_RESIDENTS
