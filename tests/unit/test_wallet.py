"""The wallet keeps each card's chip memory on disk, so the PIN failure
counter survives restarts and is shared by every process using the card."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk_sim.card import PinIncorrect, PinLocked, VirtualCard
from kiosk_sim.wallet import Wallet, WalletEntry

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> VirtualCard:
    return VirtualCard.create()


@pytest.fixture
def wallet(tmp_path: Path, template: VirtualCard) -> Wallet:
    wallet = Wallet(tmp_path / "wallet")
    wallet.put("kasumi-taro", VirtualCard.from_record(template.to_record()), label="霞 太郎",
               municipality_code="131016", resident_code="000000000001")
    return wallet


def test_counter_persists_across_wallet_instances(wallet: Wallet) -> None:
    with pytest.raises(PinIncorrect):
        wallet.get("kasumi-taro").verify_pin("0000")
    again = Wallet(wallet.directory).get("kasumi-taro")
    assert again.failures == 1
    with pytest.raises(PinIncorrect) as refused:
        again.verify_pin("0000")
    assert refused.value.remaining == 1
    again.verify_pin("1234")
    assert Wallet(wallet.directory).get("kasumi-taro").failures == 0


def test_two_wallets_on_one_card_both_count(wallet: Wallet) -> None:
    # Both cards are read before any failure: without the shared state each
    # would believe it had three attempts.
    first = Wallet(wallet.directory).get("kasumi-taro")
    second = Wallet(wallet.directory).get("kasumi-taro")
    with pytest.raises(PinIncorrect) as a:
        first.verify_pin("0000")
    with pytest.raises(PinIncorrect) as b:
        second.verify_pin("0000")
    assert (a.value.remaining, b.value.remaining) == (2, 1)
    with pytest.raises(PinLocked):
        first.sign_challenge(b"x", "0000")
    with pytest.raises(PinLocked):
        second.sign_challenge(b"x", "1234")
    assert wallet.entries()[0].locked


def test_processes_count_failures_on_one_card(wallet: Wallet) -> None:
    script = (
        "import sys\n"
        "from kiosk_sim.wallet import Wallet\n"
        "from kiosk_sim.card import CardError\n"
        "card = Wallet(sys.argv[1]).get('kasumi-taro')\n"
        "try:\n"
        "    card.verify_pin('0000')\n"
        "except CardError:\n"
        "    pass\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(wallet.directory)], env=env)
             for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert wallet.get("kasumi-taro").failures == 2


def test_files_are_private(wallet: Wallet) -> None:
    card = wallet.get("kasumi-taro")
    with pytest.raises(PinIncorrect):
        card.verify_pin("0000")  # a rewrite keeps the mode
    for path in [*wallet.directory.glob("*.json"), *(wallet.directory / ".locks").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not list(wallet.directory.glob("*.tmp")) and not list(wallet.directory.glob(".*.tmp"))


def test_entries_contains_remove(wallet: Wallet) -> None:
    wallet.put("face-auth", VirtualCard.create(credential="face_auth"), label="顔認証")
    assert wallet.entries() == [
        WalletEntry("face-auth", "顔認証", "face_auth", None, None, False),
        WalletEntry("kasumi-taro", "霞 太郎", "card", "131016", "000000000001", False),
    ]
    assert "face-auth" in wallet and "nobody" not in wallet and "../etc" not in wallet
    wallet.remove("face-auth")
    assert "face-auth" not in wallet
    with pytest.raises(KeyError):
        wallet.get("face-auth")
    with pytest.raises(KeyError):
        wallet.remove("face-auth")


@pytest.mark.parametrize("key", ["", "Kasumi", "-x", "a/b", "a" * 65, "taro\n"])
def test_keys_are_validated(wallet: Wallet, key: str) -> None:
    with pytest.raises(ValueError):
        wallet.put(key, wallet.get("kasumi-taro"))


def test_card_replaced_under_the_same_key(wallet: Wallet) -> None:
    old = wallet.get("kasumi-taro")
    wallet.put("kasumi-taro", VirtualCard.create(), label="霞 太郎 (再発行)")
    with pytest.raises(ValueError):
        old.verify_pin("0000")
    assert wallet.get("kasumi-taro").failures == 0
