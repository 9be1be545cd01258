"""``seed`` into a running municipal server's register: the live server picks
up the generated residents with no restart, and their cards work at a kiosk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from municipal_server.synthetic import CODE_PREFIX
from tests.conftest import BASE_CLOCK, Raw, System
from tests.support import pdf_pages_text

REPO = Path(__file__).resolve().parents[2]


async def test_seeded_residents_get_a_juminhyo_from_the_running_system(
        system: System, tmp_path: Path) -> None:
    wallet_dir = tmp_path / "wallet"
    env = {**system.service_env("131016"), "KONBINI_CLOCK": BASE_CLOCK}
    done = subprocess.run(
        [sys.executable, "-m", "municipal_server", "seed", "--code", "131016",
         "--residents", "12", "--seed", "7", "--cards", "2", "--var", str(system.var),
         "--center", system.center_url, "--wallet", str(wallet_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["residents"] == 12 and summary["cards"] == 2
    assert summary["personas"] == 0  # the running register already had them

    entries = Wallet(wallet_dir).entries()
    assert [e.key.startswith("synth-") for e in entries] == [True, True]
    entry = entries[0]
    assert entry.resident_code and entry.resident_code.startswith(CODE_PREFIX)
    assert entry.label and entry.municipality_code == "131016"

    # The running server reads the register on every request: the seeded
    # resident is on its menu without a restart.
    raw = Raw(system.municipal_url("131016"), system.ssl_as_center())
    try:
        status, menu, _ = await raw.call("POST", "/v1/menu", json_body={
            "resident_code": entry.resident_code, "at": BASE_CLOCK})
    finally:
        await raw.close()
    assert status == 200, menu
    assert [m["name"] for m in menu["household"] if m["self"]] == [entry.label]

    async with KioskClient(system.terminal()) as kiosk:
        result = await kiosk.issue(Wallet(wallet_dir).get(entry.key), "1234", "juminhyo",
                                   out_dir=tmp_path / "out")
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert entry.label in front
    assert "東京都千代田区" in front
