"""Settlement over the real services: what the kiosks paid, the ledger, the
statement and the statistics agree to the yen; campaign fees; the fiscal-year
boundary; refusals counted; bad input changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from center.history import FY2023
from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import Raw, System
from tests.support import copy_database, eventually, pdf_pages_text, query_rows

CHIYODA = "131016"
COMMISSION = 10 + 115  # the contract this module sets for 千代田区 (center + store)


def cli(system: System, *args: str, var: Path | None = None,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = system.center_env() if var is None else {**os.environ, **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "center", *args, "--var",
                           str(var or system.var)], capture_output=True, text=True,
                          timeout=300, check=False, env=env)


def ledger_rows(system: System, sql: str, *params: Any) -> list[dict[str, Any]]:
    return query_rows(system.center_db, sql, *params)


@pytest.fixture
async def as_miyazaki(system: System) -> AsyncIterator[Raw]:
    raw = Raw(system.center_url, system.ssl_as_municipality("452017"))
    yield raw
    await raw.close()


@pytest.fixture(scope="module")
def contracts(system: System) -> None:
    """千代田区: 125 yen a certificate (center 10, store 115) and 1.2 million yen a
    year from February 2027; no contribution from May 2027."""
    for starts_on, yearly in (("2027-02-01", "1200000"), ("2027-05-01", "0")):
        done = cli(system, "contract", "set", "--municipality", CHIYODA, "--starts-on",
                   starts_on, "--center-commission", "10", "--store-commission", "115",
                   "--yearly-contribution", yearly)
        assert done.returncode == 0, done.stderr


async def _issue(kiosk: KioskClient, card, cert_type: str, copies: int,  # type: ignore[no-untyped-def]
                 *, jam_from: int | None = None, report: bool = True,
                 options: dict[str, Any] | None = None) -> dict[str, Any]:
    """One order as a kiosk does it; a paper jam fails copy ``jam_from`` and after."""
    session = await kiosk.start_session()
    try:
        await kiosk.authenticate(session, card, "1234")
        menu = await kiosk.menu(session["session_id"])
        item = next(i for i in menu["items"] if i["type"] == cert_type)
        order = await kiosk.order(session["session_id"], cert_type, copies, options or {},
                                  item["fee_yen"] * copies)
        if not report:
            return {"order": order, "settlement": None}
        printed, failed = [], []
        for n, certificate in enumerate(order["certificates"], start=1):
            if jam_from is not None and n >= jam_from:
                failed.append({"certificate_id": certificate["certificate_id"],
                               "reason": "paper-jam"})
            else:
                await kiosk.download(certificate)
                printed.append(certificate["certificate_id"])
        settlement = await kiosk.report_result(order["order_id"], printed, failed)
        return {"order": order, "settlement": settlement}
    finally:
        await kiosk.end_session(session["session_id"])


async def _wait_voided(system: System, order_id: str) -> None:
    def voided() -> bool:
        rows = ledger_rows(system, "SELECT status FROM orders WHERE order_id = ?", order_id)
        return bool(rows) and rows[0]["status"] == "voided"

    # The center's upkeep runs every second in the tests, when the machine lets it.
    await eventually(voided)


async def test_the_statement_equals_the_ledger_equals_what_the_kiosks_paid(
        system: System, kiosk: KioskClient, wallet: Wallet, as_chiyoda: Raw, center_clock,
        contracts, tmp_path: Path) -> None:
    await center_clock("2027-02-16T10:00:00+09:00")  # a Tuesday
    taro = wallet.get("kasumi-taro")
    household = {"members": "household"}
    paid = [
        await _issue(kiosk, taro, "juminhyo", 2, options=household),
        await _issue(kiosk, taro, "inkan", 1),
        await _issue(kiosk, taro, "juminhyo", 3, jam_from=2, options=household),
        await _issue(kiosk, taro, "tax_income", 1, jam_from=1),
    ]
    forgotten = await _issue(kiosk, taro, "juminhyo", 1, report=False, options=household)
    await center_clock.advance(10 * 60 + 1)
    await _wait_voided(system, forgotten["order"]["order_id"])

    charged = sum(p["settlement"]["charged_yen"] for p in paid)
    refunded = sum(p["settlement"]["refunded_yen"] for p in paid) + 200
    assert (charged, refunded) == (200 * 2 + 200 + 200, 200 * 2 + 300 + 200)

    # The ledger: one entry per copy, with chain, store, terminal, fee and commission.
    order_ids = [p["order"]["order_id"] for p in paid] + [forgotten["order"]["order_id"]]
    marks = ",".join("?" * len(order_ids))
    entries = ledger_rows(system, f"SELECT * FROM ledger_entries WHERE order_id IN ({marks})",
                          *order_ids)
    assert len(entries) == 2 + 1 + 3 + 1 + 1
    assert {(e["chain"], e["store_id"], e["terminal_id"], e["municipality_code"])
            for e in entries} == {("seven-eleven", "store-0001", "kiosk-0001", CHIYODA)}
    assert sum(e["fee_yen"] for e in entries if e["kind"] == "charge") == charged
    assert sum(e["fee_yen"] for e in entries if e["kind"] == "refund") == refunded
    assert all(e["center_commission_yen"] + e["store_commission_yen"] ==
               (COMMISSION if e["kind"] == "charge" else 0) for e in entries)
    month = ledger_rows(system, "SELECT kind, COUNT(*) AS n, SUM(fee_yen) AS yen, "
                        "SUM(center_commission_yen + store_commission_yen) AS c "
                        "FROM ledger_entries WHERE municipality_code = ? AND issued_at >= ? "
                        "AND issued_at < ? GROUP BY kind", CHIYODA,
                        1801407600.0, 1803826800.0)  # 2027-02-01 – 2027-03-01 JST
    by_kind = {r["kind"]: r for r in month}

    status, body, _ = await as_chiyoda.call("GET", f"/v1/municipalities/{CHIYODA}"
                                                   "/statements/2027-02")
    assert status == 200, body
    assert body["certificates"] == by_kind["charge"]["n"] == 4
    assert body["fees_collected_yen"] == by_kind["charge"]["yen"] == charged
    assert body["commission_yen"] == by_kind["charge"]["c"] == 4 * COMMISSION
    assert body["refunded_yen"] == by_kind["refund"]["yen"] == refunded
    assert body["contribution_yen"] == 100_000
    assert body["net_yen"] == charged - 4 * COMMISSION - 100_000
    assert body["direction"] == "receivable-from-municipality"
    lines = {(line["type"], line["fee_yen"]): line for line in body["lines"]}
    assert lines[("juminhyo", 200)]["certificates"] == 3
    assert lines[("juminhyo", 200)]["refunded_copies"] == 3
    assert lines[("inkan", 200)]["fees_yen"] == 200
    assert lines[("tax_income", 300)]["certificates"] == 0
    assert body["by_chain"] == [{"chain": "seven-eleven", "certificates": 4,
                                 "fees_yen": charged, "store_commission_yen": 4 * 115}]

    # The operator's command gives the same figures, and the documents.
    pdf_file, csv_file = tmp_path / "s.pdf", tmp_path / "s.csv"
    done = cli(system, "report", "statement", "--municipality", CHIYODA, "--month",
               "2027-02", "--pdf", str(pdf_file), "--csv", str(csv_file), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == body
    text = pdf_pages_text(pdf_file.read_bytes())[0]
    assert "証明書コンビニ交付手数料請求内訳書" in text and "千代田区" in text
    assert f"{abs(body['net_yen']):,}" in text and "ご請求金額" in text
    assert f"total,net_yen,{body['net_yen']}" in csv_file.read_text(encoding="utf-8")
    status, pdf, headers = await as_chiyoda.call(
        "GET", f"/v1/municipalities/{CHIYODA}/statements/2027-02.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert "住民票の写し" in pdf_pages_text(pdf)[0]
    status, csv_text, _ = await as_chiyoda.call(
        "GET", f"/v1/municipalities/{CHIYODA}/statements/2027-02.csv")
    assert status == 200 and f"total,net_yen,{body['net_yen']}" in csv_text.decode()

    # The chain's statement: what seven-eleven collected and keeps.
    done = cli(system, "report", "statement", "--chain", "seven-eleven", "--month", "2027-02",
               "--json")
    chain = json.loads(done.stdout)
    assert chain["collected_yen"] == charged and chain["kept_yen"] == 4 * 115
    assert chain["remitted_yen"] == charged - 4 * 115


async def test_a_campaign_fee_shows_only_in_its_period_and_can_make_the_net_negative(
        system: System, kiosk: KioskClient, wallet: Wallet, as_chiyoda: Raw, center_clock,
        contracts) -> None:
    fees = f"/v1/municipalities/{CHIYODA}/fees"
    campaign = {"type": "juminhyo_kisai", "fee_yen": 10, "starts_on": "2027-05-10",
                "ends_on": "2027-05-20"}
    status, body, _ = await as_chiyoda.call("POST", fees, json_body=campaign)
    assert status == 201, body
    # Overlapping the campaign: refused, nothing changed.
    status, body, _ = await as_chiyoda.call("POST", fees, json_body={
        **campaign, "fee_yen": 100, "starts_on": "2027-05-20", "ends_on": "2027-06-30"})
    assert (status, body["code"]) == (409, "conflict")
    status, listed, _ = await as_chiyoda.call("GET", fees)
    assert [p["fee_yen"] for p in listed["periods"] if p["type"] == "juminhyo_kisai"] == [10]

    taro = wallet.get("kasumi-taro")

    async def menu_fee(instant: str) -> int:
        await center_clock(instant)
        session = await kiosk.start_session()
        try:
            await kiosk.authenticate(session, taro, "1234")
            menu = await kiosk.menu(session["session_id"])
        finally:
            await kiosk.end_session(session["session_id"])
        return next(i["fee_yen"] for i in menu["items"] if i["type"] == "juminhyo_kisai")

    assert await menu_fee("2027-05-09T22:59:00+09:00") == 200
    assert await menu_fee("2027-05-10T06:30:00+09:00") == 10
    assert await menu_fee("2027-05-21T06:30:00+09:00") == 200

    await center_clock("2027-05-12T10:00:00+09:00")
    issued = await _issue(kiosk, taro, "juminhyo_kisai", 1)
    assert issued["settlement"] == {"charged_yen": 10, "refunded_yen": 0}
    assert issued["order"]["fee_yen"] == 10

    done = cli(system, "report", "statement", "--municipality", CHIYODA, "--month",
               "2027-05", "--json")
    assert done.returncode == 0, done.stderr
    statement = json.loads(done.stdout)
    assert statement["lines"] == [{
        "type": "juminhyo_kisai", "label": "住民票記載事項証明書", "group": "住記載",
        "fee_yen": 10, "certificates": 1, "fees_yen": 10, "commission_yen": COMMISSION,
        "refunded_copies": 0, "refunded_yen": 0}]
    assert statement["contribution_yen"] == 0
    assert statement["net_yen"] == 10 - COMMISSION < 0


async def test_the_fiscal_year_ends_on_31_march(
        system: System, kiosk: KioskClient, wallet: Wallet, as_chiyoda: Raw,
        center_clock) -> None:
    async def stats(year: int) -> dict[str, Any]:
        status, body, _ = await as_chiyoda.call(
            "GET", f"/v1/municipalities/{CHIYODA}/statistics?fiscal_year={year}")
        assert status == 200, body
        return body

    before = {2026: await stats(2026), 2027: await stats(2027)}
    taro = wallet.get("kasumi-taro")
    await center_clock("2027-03-31T22:30:00+09:00")
    await _issue(kiosk, taro, "inkan", 1)
    await center_clock("2027-04-01T06:45:00+09:00")
    await _issue(kiosk, taro, "inkan", 2)
    after = {2026: await stats(2026), 2027: await stats(2027)}

    assert after[2026]["total"] - before[2026]["total"] == 1
    assert after[2026]["by_month"]["2027-03"]["印鑑"] - \
        before[2026]["by_month"]["2027-03"]["印鑑"] == 1
    assert after[2026]["by_hour"]["22"] - before[2026]["by_hour"]["22"] == 1
    assert after[2027]["total"] - before[2027]["total"] == 2
    assert after[2027]["by_month"]["2027-04"]["印鑑"] - \
        before[2027]["by_month"]["2027-04"]["印鑑"] == 2
    assert after[2027]["by_hour"]["06"] - before[2027]["by_hour"]["06"] == 2
    assert after[2027]["by_weekday"]["木"] - before[2027]["by_weekday"]["木"] == 2
    assert after[2027]["by_chain"]["seven-eleven"] - \
        before[2027]["by_chain"].get("seven-eleven", 0) == 2
    assert set(after[2027]["by_group"]) == {"住民票", "住記載", "印鑑", "税", "戸籍", "附票",
                                            "罹災"}


async def test_refusals_are_counted_by_code_and_reason(
        system: System, kiosk: KioskClient, wallet: Wallet, as_chiyoda: Raw) -> None:
    def count(body: dict[str, Any]) -> int:
        return sum(r["count"] for r in body["refusals"]
                   if (r["code"], r["reason"]) == ("resident-ineligible", "under-15"))

    path = f"/v1/municipalities/{CHIYODA}/statistics?fiscal_year=2026"
    _, before, _ = await as_chiyoda.call("GET", path)
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(wallet.get("kasumi-jiro"), "1234", "juminhyo")
    assert refused.value.code == "resident-ineligible"
    _, after, _ = await as_chiyoda.call("GET", path)
    assert count(after) == count(before) + 1
    # Refused while authenticating (横浜市 in maintenance): counted for 横浜市.
    def unavailable() -> int:
        done = cli(system, "report", "statistics", "--fiscal-year", "2026", "--municipality",
                   "141003", "--json")
        return sum(r["count"] for r in json.loads(done.stdout)["refusals"]
                   if r["code"] == "municipality-unavailable")

    before_yokohama = unavailable()
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(wallet.get("yokohama"), "1234", "juminhyo")
    assert refused.value.code == "municipality-unavailable"
    assert unavailable() == before_yokohama + 1
    dump = "\n".join(str(tuple(r.values()))
                     for r in ledger_rows(system, "SELECT * FROM refusals"))
    assert "霞" not in dump and "次郎" not in dump


async def test_bad_input_gets_a_problem_and_changes_nothing(
        system: System, as_chiyoda: Raw, as_miyazaki: Raw) -> None:
    base = f"/v1/municipalities/{CHIYODA}"
    _, fees_before, _ = await as_chiyoda.call("GET", f"{base}/fees")
    for month in ("2027-13", "1999-12", "2027-00"):
        status, body, _ = await as_chiyoda.call("GET", f"{base}/statements/{month}")
        assert (status, body["code"]) == (422, "invalid-request"), month
    status, body, _ = await as_chiyoda.call("GET", f"{base}/statements/2027-02.xls")
    assert (status, body["code"]) == (404, "not-found")
    for year in ("1999", "2101", "twenty", "-1"):
        status, body, _ = await as_chiyoda.call("GET", f"{base}/statistics?fiscal_year={year}")
        assert (status, body["code"]) == (422, "invalid-request"), year
    status, body, _ = await as_miyazaki.call("GET", f"{base}/statements/2027-02")
    assert (status, body["code"]) == (403, "municipality-mismatch")
    for bad in ({"type": "juminhyo", "fee_yen": 10, "starts_on": "2027-07-02",
                 "ends_on": "2027-07-01"},
                {"type": "juminhyo", "fee_yen": -5, "starts_on": "2027-07-01",
                 "ends_on": "2027-07-02"},
                {"type": "juminhyo", "fee_yen": 10, "starts_on": "2027-02-30",
                 "ends_on": "2027-03-02"},
                {"type": "nope", "fee_yen": 10, "starts_on": "2027-07-01",
                 "ends_on": "2027-07-02"}):
        status, body, _ = await as_chiyoda.call("POST", f"{base}/fees", json_body=bad)
        assert (status, body["code"]) == (422, "invalid-request"), bad
    _, fees_after, _ = await as_chiyoda.call("GET", f"{base}/fees")
    assert fees_after == fees_before

    contracts_before = cli(system, "contract", "list", "--json").stdout
    for args in (["report", "statement", "--municipality", CHIYODA, "--month", "2027-13"],
                 ["report", "statement", "--municipality", "999999", "--month", "2027-02"],
                 ["report", "statistics", "--fiscal-year", "1899"],
                 ["report", "statistics", "--fiscal-year", "2026", "--municipality", "131017"],
                 ["contract", "set", "--municipality", CHIYODA, "--starts-on", "2027-01-01",
                  "--center-commission", "-1", "--store-commission", "115",
                  "--yearly-contribution", "0"],
                 ["contract", "set", "--municipality", "999999", "--starts-on", "2027-01-01",
                  "--center-commission", "1", "--store-commission", "115",
                  "--yearly-contribution", "0"]):
        done = cli(system, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "error" in done.stderr
    assert cli(system, "contract", "list", "--json").stdout == contracts_before


def test_simulated_history_follows_the_fy2023_mix(system: System, tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "center").mkdir(parents=True)
    env: dict[str, str] = {}
    if system.postgres is not None:  # a database of its own, the same schema, a copy of the rows
        url = system.postgres.create_database("center_simulated")
        env = {"KONBINI_DATABASE_URL": url}
        assert cli(system, "migrate", var=var, extra_env=env).returncode == 0
        copy_database(system.center_db, url)
    else:
        copy_database(system.center_db, var / "center" / "center.db")
    scale = 0.0005
    done = cli(system, "simulate-history", "--fiscal-year", "2023", "--scale", str(scale),
               "--seed", "7", var=var, extra_env=env)
    assert done.returncode == 0, done.stderr
    again = cli(system, "simulate-history", "--fiscal-year", "2023", "--scale", str(scale),
                "--seed", "7", var=var, extra_env=env)
    assert again.returncode == 2  # already filled: nothing added twice
    stats = json.loads(cli(system, "report", "statistics", "--fiscal-year", "2023", "--json",
                           var=var, extra_env=env).stdout)
    for group, national in FY2023.items():
        assert stats["by_group"][group] == round(national * scale), group
    assert stats["total"] == sum(round(n * scale) for n in FY2023.values())
    hours = stats["by_hour"]
    assert sum(hours[h] for h in ("00", "01", "02", "03", "04", "05", "23")) == 0
    assert hours["12"] > hours["09"] and hours["18"] > hours["15"]
    weekday = stats["by_weekday"]
    assert weekday["火"] > weekday["日"]
    assert stats["by_month"]["2024-01"]["total"] < stats["by_month"]["2024-03"]["total"]
    assert set(stats["by_chain"]) == {"seven-eleven", "familymart", "lawson"}
    assert len(stats["by_municipality"]) >= 2
