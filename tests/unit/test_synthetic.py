"""The synthetic register generator (合成住民基本台帳) and the ``seed`` command."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from municipal_server import personas, synthetic
from municipal_server.eligibility import resident_refusal, unsupported_characters
from municipal_server.register import MOVING_OUT, Register
from municipal_server.synthetic import (
    GAIJI_SURNAMES,
    INTENDED_SHARES,
    Municipality,
    SyntheticHousehold,
    generate,
)

TODAY = date(2026, 11, 24)
YEARS = (2026, 2025)
CHIYODA = Municipality("131016", "東京都", "千代田区")
MIYAZAKI = Municipality("452017", "宮崎県", "宮崎市")
REPO = Path(__file__).resolve().parents[2]


def sample(residents: int = 2000, seed: int = 1, municipality: Municipality = CHIYODA,
           start: int = 0) -> list[SyntheticHousehold]:
    return list(generate(municipality, TODAY, YEARS, residents, seed=seed, start=start))


def cases(households: list[SyntheticHousehold]) -> Counter[str]:
    found: Counter[str] = Counter()
    for h in households:
        for r in h.members:
            refusal = resident_refusal(r, h.household.address, TODAY)
            found[refusal.reason if refusal else "eligible"] += 1
        found["seal-active"] += sum(1 for s in h.seals if s.abolished_on is None)
        found["seal-abolished"] += sum(1 for s in h.seals if s.abolished_on is not None)
    return found


def test_the_same_seed_gives_the_same_register_and_another_seed_another() -> None:
    assert sample(500, seed=3) == sample(500, seed=3)
    assert sample(500, seed=3) != sample(500, seed=4)


def test_exactly_the_residents_asked_for_numbered_from_start() -> None:
    households = sample(777, start=1000)
    codes = [r.resident_code for h in households for r in h.members]
    assert codes == [synthetic.resident_code(i) for i in range(1000, 1777)]


@pytest.mark.parametrize("municipality", [CHIYODA, MIYAZAKI])
def test_every_address_is_in_the_municipality(municipality: Municipality) -> None:
    households = sample(1000, municipality=municipality)
    prefix = municipality.prefecture + municipality.name
    assert all(h.household.address.startswith(prefix) for h in households)
    assert all(t.address == h.household.address for h in households for t in h.tax_records)
    # Someone who moved in came from somewhere else.
    moved = [r.previous_address for h in households for r in h.members
             if r.moved_in_reason == "転入"]
    assert moved and not any(p is None or p.startswith(prefix) for p in moved)


def test_each_refusal_case_has_roughly_its_intended_share() -> None:
    households = sample(2000)
    found = cases(households)
    total = sum(len(h.members) for h in households)
    assert total == 2000
    for case, share in INTENDED_SHARES.items():
        actual = found[case] / total
        assert 0.4 * share <= actual <= 2.0 * share, (case, actual, share)
    # And most people can use the service.
    assert found["eligible"] / total > 0.7


def test_households_are_realistic() -> None:
    households = sample(2000)
    sizes = Counter(len(h.members) for h in households)
    assert sizes[1] and sizes[2] and sizes[3] and sizes[4]
    for h in households:
        heads = [r for r in h.members if r.relationship == "世帯主"]
        assert len(heads) == 1 and h.members[0].relationship == "世帯主"
        assert {r.household_id for r in h.members} == {h.household.household_id}
        assert all(r.relationship in {"世帯主", "妻", "夫", "子", "母", "父"} for r in h.members)
        for r in h.members:
            assert r.birth_date <= r.moved_in_on <= TODAY
            assert len(r.name.split(" ")) == 2
            kana_surname, kana_given = r.name_kana.split(" ")
            assert all("ぁ" <= c <= "ゖ" or c == "ー" for c in kana_surname + kana_given), r
    relationships = Counter(r.relationship for h in households for r in h.members)
    assert relationships["子"] and relationships["妻"] and relationships["母"] + \
        relationships["父"]
    foreign = [r for h in households for r in h.members if r.nationality]
    assert foreign and all(r.foreign is not None and r.domicile is None for r in foreign)
    assert any(t for h in households for t in h.tax_records if t.municipal_income_levy > 0)


def test_kana_is_the_reading_of_the_faker_name() -> None:
    from faker.providers.person.ja_JP import Provider

    readings = {kanji: kana for (kanji, kana, _), _w in Provider.last_name_pairs.items()}
    checked = 0
    for h in sample(300):
        for r in h.members:
            surname = r.name.split(" ")[0]
            if surname in readings:
                expected = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c
                                   for c in readings[surname])
                assert r.name_kana.split(" ")[0] == expected
                checked += 1
    assert checked > 100


def test_gaiji_names_really_fall_outside_jis_x_0208() -> None:
    for surname, _ in GAIJI_SURNAMES:
        with pytest.raises(UnicodeEncodeError):
            surname.encode("iso2022_jp")
    households = sample(2000)
    gaiji_surnames = {s for s, _ in GAIJI_SURNAMES}
    with_gaiji = [(r, h.household.address) for h in households for r in h.members
                  if unsupported_characters(r.name) or unsupported_characters(h.household.address)]
    assert len(with_gaiji) >= 10
    for r, address in with_gaiji:
        # Only the names carry 外字 (addresses are clean), and only on purpose.
        assert not unsupported_characters(address)
        assert r.name.split(" ")[0] in gaiji_surnames
        with pytest.raises(UnicodeEncodeError):
            r.name.encode("iso2022_jp")
        assert resident_refusal(r, address, TODAY) is not None
    refused = cases(households)["unsupported-characters"]
    assert 0 < refused <= len(with_gaiji)


def test_no_code_collides_with_a_persona_and_member_ids_are_unique() -> None:
    persona_codes = {r.resident_code for code in (personas.CHIYODA, personas.MIYAZAKI,
                                                  personas.YOKOHAMA)
                     for h in personas.persona_households(code, TODAY) for _, r in h.members}
    persona_codes |= {r.resident_code for i in range(500)
                      for _, r in personas.synthetic_household("131016", "", i).members}
    assert not any(c.startswith(synthetic.CODE_PREFIX) for c in persona_codes)
    households = sample(2000)
    codes = [r.resident_code for h in households for r in h.members]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 11 and c.isdigit() and c.startswith("0") for c in codes)
    assert not set(codes) & persona_codes
    members = [r.member_id for h in households for r in h.members]
    assert len(set(members)) == len(members)
    assert synthetic.index_of(codes[5]) == 5 and synthetic.index_of("12345678901") is None
    assert synthetic.card_key(123) == "synth-000123"


def test_tax_records_only_for_years_lived_here_on_1_january() -> None:
    for h in sample(2000):
        by_code = {r.resident_code: r for r in h.members}
        for t in h.tax_records:
            assert t.fiscal_year in YEARS
            assert by_code[t.resident_code].moved_in_on < date(t.fiscal_year, 1, 1)


# -- the command ---------------------------------------------------------------------------

def run_seed(var: Path, residents: int, *extra: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "municipal_server", "seed", "--code", "131016",
         "--residents", str(residents), "--var", str(var), "--cards", "0", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "KONBINI_CLOCK": "2026-11-24T10:00:00+09:00"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        def one(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])
        synth = "resident_code >= '0' AND resident_code < '1'"
        return {
            "residents": one(f"SELECT COUNT(*) FROM residents WHERE {synth}"),
            "all_residents": one("SELECT COUNT(*) FROM residents"),
            "households": one("SELECT COUNT(*) FROM households WHERE household_id LIKE 'hs-%'"),
            "active": one(f"SELECT COUNT(*) FROM seals WHERE {synth} AND status = 'active'"),
            "abolished": one(f"SELECT COUNT(*) FROM seals WHERE {synth} "
                             "AND status = 'abolished'"),
            "tax": one(f"SELECT COUNT(*) FROM tax_records WHERE {synth}"),
            "moved_out": one(f"SELECT COUNT(*) FROM residents WHERE {synth} "
                             "AND status = 'moved-out'"),
        }


def test_the_command_seeds_a_fresh_register_and_its_summary_matches(tmp_path: Path) -> None:
    summary = run_seed(tmp_path, 600)
    db = tmp_path / "municipal" / "131016" / "register.db"
    found = counts(db)
    assert summary["residents"] == found["residents"] == 600
    assert summary["households"] == found["households"]
    assert summary["seals"] == {"active": found["active"], "abolished": found["abolished"]}
    assert summary["tax_records"] == found["tax"] > 0
    assert summary["cases"]["moved-out"] == found["moved_out"]  # type: ignore[index]
    assert found["all_residents"] == 600 + summary["personas"] > 600  # type: ignore[operator]
    # No names in what is printed, only counts.
    assert "丁目" not in json.dumps(summary, ensure_ascii=False)
    # A second run goes on with the numbering, the personas are not added twice.
    again = run_seed(tmp_path, 50, "--seed", "2")
    assert again["first_index"] == 600 and again["personas"] == 0
    assert counts(db)["residents"] == 650


def test_a_seeded_seal_still_draws_and_an_empty_seed_is_fine(tmp_path: Path) -> None:
    summary = run_seed(tmp_path, 0, "--no-personas")
    assert summary["residents"] == 0 and summary["personas"] == 0


async def test_seeding_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    """A running server may be writing (an issuance) when a batch commits: the
    seeder's connection waits (busy timeout) rather than fail with 'locked'."""
    from municipal_server.profile import load_profile
    from municipal_server.synthetic_seed import seed_synthetic

    path = tmp_path / "register.db"
    register = await Register.open(path, migrate=True)
    other = sqlite3.connect(path, timeout=5, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    released = threading.Event()

    def release() -> None:
        time.sleep(1.0)
        other.commit()
        released.set()

    thread = threading.Thread(target=release)
    thread.start()
    try:
        summary, _ = await seed_synthetic(register, load_profile("131016"), TODAY, 300,
                                          personas=False)
    finally:
        thread.join()
        other.close()
    assert released.is_set() and summary.residents == 300
    assert await register.resident_count() == 300
    await register.close()
    await asyncio.sleep(0)


async def test_cards_go_only_to_residents_who_can_have_a_juminhyo(tmp_path: Path) -> None:
    """A tester's card must get a 住民票の写し: never one in a household where
    someone is moving out (the kiosk refuses the whole household that), whatever
    register the seeder continues."""
    from municipal_server.profile import load_profile
    from municipal_server.synthetic_seed import seed_synthetic

    register = await Register.open(tmp_path / "register.db", migrate=True)
    try:
        _, holders = await seed_synthetic(register, load_profile("131016"), TODAY, 2000,
                                          personas=False, wanted_cards=2000)
    finally:
        await register.close()
    households = sample(2000)
    moving = {r.resident_code for h in households
              if any(m.status == MOVING_OUT for m in h.members) for r in h.members}
    assert moving, "the sample has no household in the middle of a move"
    codes = {code for _, code, _ in holders}
    assert len(codes) > 1000 and not codes & moving
