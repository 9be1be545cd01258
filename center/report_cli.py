"""``python -m center report|contract|simulate-history``: the operator's
settlement commands over the center's database (no server needed).

Exit 0 done; 2 bad input (a month or fiscal year out of range, an unknown
municipality, a negative commission …), with the reason on stderr and
nothing changed."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from konbini.db import resolve_url

from .history import MunicipalityTerms, generate
from .model.orders import CertificateStatus, EntryKind, OrderStatus
from .model.settlement import (
    Contract,
    TermsError,
    check_year,
    contract_in_force,
    jst_date,
    parse_date,
)
from .reports import statement, statistics
from .statement_documents import statement_csv, statement_pdf
from .storage import CenterStore


class CliError(Exception):
    """Bad input: printed, exit 2."""


def add_parsers(sub: Any, var_default: Path) -> None:
    def with_var(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--var", type=Path, default=var_default,
                       help="state directory (default: var)")
        return p

    report = sub.add_parser("report", help="settlement statements and statistics")
    kinds = report.add_subparsers(dest="report", required=True)
    st = with_var(kinds.add_parser("statement", help="a month's statement (請求内訳書)"))
    who = st.add_mutually_exclusive_group(required=True)
    who.add_argument("--municipality", metavar="CODE")
    who.add_argument("--chain", metavar="NAME")
    st.add_argument("--month", required=True, metavar="YYYY-MM")
    st.add_argument("--pdf", type=Path, metavar="FILE", help="write the PDF here")
    st.add_argument("--csv", type=Path, metavar="FILE", help="write the CSV here")
    st.add_argument("--json", action="store_true", help="print the figures as JSON")
    stats = with_var(kinds.add_parser("statistics", help="a fiscal year's statistics"))
    stats.add_argument("--fiscal-year", type=int, required=True)
    stats.add_argument("--municipality", metavar="CODE")
    stats.add_argument("--json", action="store_true")

    contract = sub.add_parser("contract", help="commission contracts (委託契約)")
    actions = contract.add_subparsers(dest="action", required=True)
    cset = with_var(actions.add_parser("set", help="terms in force from a date"))
    target = cset.add_mutually_exclusive_group(required=True)
    target.add_argument("--municipality", metavar="CODE")
    target.add_argument("--default", action="store_true",
                        help="the terms of municipalities without their own")
    cset.add_argument("--starts-on", required=True, metavar="YYYY-MM-DD")
    cset.add_argument("--center-commission", type=int, required=True, metavar="YEN",
                      help="per printed certificate, to the center")
    cset.add_argument("--store-commission", type=int, required=True, metavar="YEN",
                      help="per printed certificate, kept by the store's chain")
    cset.add_argument("--yearly-contribution", type=int, required=True, metavar="YEN",
                      help="the municipality's yearly contribution (運営負担金)")
    clist = with_var(actions.add_parser("list", help="every contract"))
    clist.add_argument("--municipality", metavar="CODE")
    clist.add_argument("--json", action="store_true")

    sim = with_var(sub.add_parser(
        "simulate-history", help="fill a fiscal year of settled orders (FY2023's mix)"))
    sim.add_argument("--fiscal-year", type=int, required=True)
    sim.add_argument("--scale", type=float, default=0.001,
                     help="fraction of the national FY2023 volume (default 0.001)")
    sim.add_argument("--seed", type=int, default=2023)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (CliError, TermsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace) -> int:
    database = args.var / "center" / "center.db"
    url = resolve_url(None, database)  # KONBINI_DATABASE_URL, else the SQLite file
    if url.startswith("sqlite") and not database.exists():
        raise CliError(f"no center database at {database} (start the center once)")
    store = await CenterStore.open(url)
    try:
        if args.command == "report" and args.report == "statement":
            return await _statement(store, args)
        if args.command == "report":
            return await _statistics(store, args)
        if args.command == "contract":
            return await _contract(store, args)
        return await _simulate(store, args)
    finally:
        await store.close()


async def _known(store: CenterStore, code: str | None) -> None:
    if code is not None and await store.municipality(code) is None:
        raise CliError(f"municipality {code} is not registered")


async def _statement(store: CenterStore, args: argparse.Namespace) -> int:
    await _known(store, args.municipality)
    found = await statement(store, args.month, municipality=args.municipality,
                            chain=args.chain)
    if args.pdf:
        args.pdf.write_bytes(statement_pdf(found))
    if args.csv:
        args.csv.write_text(statement_csv(found), encoding="utf-8")
    body = found.to_json()
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for key, value in body.items():
            if not isinstance(value, list | dict):
                print(f"{key}: {value}")
    return 0


async def _statistics(store: CenterStore, args: argparse.Namespace) -> int:
    await _known(store, args.municipality)
    found = (await statistics(store, args.fiscal_year, municipality=args.municipality))
    body = found.to_json()
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(f"fiscal year {found.fiscal_year}: {found.total:,} certificates, "
              f"{found.fees_yen:,} yen")
        for group, n in found.by_group.items():
            print(f"  {group}\t{n:>12,}")
    return 0


async def _contract(store: CenterStore, args: argparse.Namespace) -> int:
    if args.action == "list":
        await _known(store, args.municipality)
        contracts = await store.ledger.contracts(args.municipality)
        if args.json:
            print(json.dumps([c.to_json() for c in contracts], ensure_ascii=False, indent=2))
        else:
            for c in contracts:
                print(f"{c.municipality_code or 'default'}\tfrom {c.starts_on}\t"
                      f"center {c.center_commission_yen}\tstore {c.store_commission_yen}\t"
                      f"yearly {c.yearly_contribution_yen}")
        return 0
    await _known(store, args.municipality)
    contract = Contract(None if args.default else args.municipality,
                        parse_date(args.starts_on, "starts_on"), args.center_commission,
                        args.store_commission, args.yearly_contribution).check()
    await store.ledger.set_contract(contract, datetime.now(UTC))
    print(json.dumps(contract.to_json(), ensure_ascii=False))
    return 0


async def _simulate(store: CenterStore, args: argparse.Namespace) -> int:
    check_year(args.fiscal_year)
    if not 0 < args.scale <= 0.05:
        raise CliError("--scale must be more than 0 and at most 0.05 (1.6 million certificates)")
    terms = []
    for code in await store.municipality_codes():
        found = await store.municipality(code)
        assert found is not None
        registration = found[0]
        terms.append(MunicipalityTerms(
            code, {o.type.value: o.fee_yen for o in registration.services},
            {o.type.value: o.hours for o in registration.services},
            await store.ledger.fee_periods(code)))
    if not terms:
        raise CliError("no municipality is registered; start the demo once")
    prefix = f"sim-{args.fiscal_year}-{args.seed}-"
    if await store.ledger.has_order_prefix(prefix):
        raise CliError(f"fiscal year {args.fiscal_year} with seed {args.seed} is already "
                       "simulated; use another --seed or start from an empty var/")
    contracts = await store.ledger.contracts()
    orders, certificates, entries = [], [], []
    printed = 0
    for n, copy in enumerate(generate(args.fiscal_year, args.scale, terms, args.seed)):
        order_id = f"{prefix}{n:08d}"
        certificate_id = hashlib.sha256(order_id.encode()).hexdigest()[:32]
        issued = copy.issued_at.timestamp()
        contract = contract_in_force(contracts, copy.municipality_code,
                                     jst_date(copy.issued_at))
        charged = copy.fee_yen if copy.printed else 0
        orders.append((order_id, "simulated", copy.terminal_id, "simulated",
                       copy.municipality_code, copy.type, 1, copy.fee_yen,
                       OrderStatus.SETTLED.value, issued, issued + 600, charged,
                       copy.fee_yen - charged, issued + 60))
        certificates.append((certificate_id, order_id, f"SIM-{n:08d}", copy.type,
                             copy.municipality_code, "", "", copy.fee_yen,
                             (CertificateStatus.PRINTED if copy.printed
                              else CertificateStatus.VOID).value,
                             None if copy.printed else "paper-jam", issued))
        kind = EntryKind.CHARGE if copy.printed else EntryKind.REFUND
        entries.append((certificate_id, order_id, kind.value, copy.municipality_code,
                        copy.chain, copy.store_id, copy.terminal_id, copy.type, copy.fee_yen,
                        contract.center_commission_yen if copy.printed else 0,
                        contract.store_commission_yen if copy.printed else 0,
                        issued, issued + 60, None if copy.printed else "paper-jam"))
        printed += copy.printed
    await store.ledger.insert_simulated(orders, certificates, entries)
    print(json.dumps({"fiscal_year": args.fiscal_year, "scale": args.scale,
                      "seed": args.seed, "orders": len(orders), "printed": printed,
                      "refunded": len(orders) - printed,
                      "municipalities": [t.code for t in terms]}, ensure_ascii=False))
    return 0
