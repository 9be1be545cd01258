"""``python -m municipal_server seed``: put a synthetic register (合成住民基本台帳)
of N residents into a municipality's database, and optionally issue cards for
some of them into the tester's wallet.

The records come from the pure ``synthetic`` generator; this module is the
I/O around it: batched transactions into SQLite (the register may belong to a
running server: WAL lets it read on while we write, and each batch is short
so its writes never wait long), one 印影 drawn per surname, and card issuance
through the center's JPKI as the municipality over mutual TLS.

The summary printed is counts only: no names, no codes."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image

from konbini.clock import TOKYO, Clock
from konbini.db import resolve_url
from konbini.problems import Problem

from . import synthetic
from .eligibility import HolderFacts, resident_refusal, type_refusal
from .profile import Profile, load_profile
from .register import MOVING_OUT, Register, Resident, SealRegistration
from .render.seal import personal_seal_png
from .seeding import seed_personas
from .tax import offered_fiscal_years

# Residents per transaction: large enough that the per-statement cost vanishes,
# small enough (a few tenths of a second) that a running server's own writes
# (an issuance record) never wait long for the lock.
BATCH_RESIDENTS = 2_000
DEFAULT_CARDS = 20
CARD_PIN = "1234"


class SealImages:
    """One 印影 per surname, drawn once: drawing takes ~40 ms, and a register of
    100,000 has a few dozen surnames. Stored re-encoded with a 16-entry palette
    of the one 朱肉 red at varying opacity, which looks the same and takes half
    the space (a register of 100,000 holds some 60,000 seals)."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}

    def __call__(self, surname: str) -> bytes:
        png = self._cache.get(surname)
        if png is None:
            png = self._cache[surname] = compact_png(personal_seal_png(surname))
        return png


def compact_png(png: bytes) -> bytes:
    """The same RGBA image with at most 16 distinct colours, losslessly compressed."""
    image = Image.open(io.BytesIO(png))
    reduced = image.quantize(colors=16, method=Image.Quantize.FASTOCTREE).convert("RGBA")
    out = io.BytesIO()
    reduced.save(out, "PNG", optimize=True)
    return out.getvalue()


@dataclass
class SeedSummary:
    """What a seeding did, in counts (never personal data)."""

    municipality: str
    households: int = 0
    residents: int = 0
    cases: Counter[str] = field(default_factory=Counter)  # refusal reason → residents
    seals_active: int = 0
    seals_abolished: int = 0
    tax_records: int = 0
    foreign_residents: int = 0
    personas: int = 0  # persona residents put into a register that was empty
    first_index: int = 0
    cards: list[str] = field(default_factory=list)  # wallet keys
    seconds: float = 0.0

    def add(self, household: synthetic.SyntheticHousehold, today: date) -> None:
        self.households += 1
        self.residents += len(household.members)
        for resident in household.members:
            refusal = resident_refusal(resident, household.household.address, today)
            self.cases[refusal.reason if refusal else "eligible"] += 1
            self.foreign_residents += resident.nationality is not None
        self.seals_abolished += sum(1 for s in household.seals if s.abolished_on)
        self.seals_active += sum(1 for s in household.seals if not s.abolished_on)
        self.tax_records += len(household.tax_records)

    def as_dict(self) -> dict[str, Any]:
        return {"municipality": self.municipality, "households": self.households,
                "residents": self.residents, "cases": dict(sorted(self.cases.items())),
                "seals": {"active": self.seals_active, "abolished": self.seals_abolished},
                "tax_records": self.tax_records, "foreign_residents": self.foreign_residents,
                "personas": self.personas, "first_index": self.first_index,
                "cards": len(self.cards), "seconds": round(self.seconds, 2)}


def _seal_rows(households: Iterable[synthetic.SyntheticHousehold],
               images: SealImages) -> list[SealRegistration]:
    return [SealRegistration(p.resident_code, images(p.surname),
                             "abolished" if p.abolished_on else "active", p.registered_on,
                             p.abolished_on)
            for h in households for p in h.seals]


async def next_index(register: Register) -> int:
    """Where the synthetic numbering of this register goes on."""
    last = await register.last_resident_code(synthetic.CODE_PREFIX,
                                             chr(ord(synthetic.CODE_PREFIX) + 1))
    index = synthetic.index_of(last) if last else None
    return 0 if index is None else index + 1


def _juminhyo_holders(household: synthetic.SyntheticHousehold,
                      today: date) -> list[Resident]:
    """The members who could have a 住民票の写し at a kiosk today: a card is of
    use to a tester only if it gets the most common certificate (a household
    in the middle of a move is refused it, whoever holds the card)."""
    facts = HolderFacts(household_moving_out=any(
        m.status == MOVING_OUT for m in household.members))
    if type_refusal("juminhyo", facts) is not None:
        return []
    return [r for r in household.members
            if resident_refusal(r, household.household.address, today) is None]


async def seed_synthetic(register: Register, profile: Profile, today: date, residents: int,
                         *, seed: int = 1, personas: bool = True,
                         wanted_cards: int = 0) -> tuple[SeedSummary,
                                                         list[tuple[str, str, str]]]:
    """Seed ``residents`` synthetic residents; also the personas if the register
    is empty. Returns the summary and up to ``wanted_cards`` eligible residents
    as (wallet key, resident code, name) for cards."""
    started = time.perf_counter()
    summary = SeedSummary(profile.code)
    if personas and await register.resident_count() == 0:
        summary.personas = await seed_personas(register, profile.code, today)
    start = await next_index(register)
    summary.first_index = start
    municipality = synthetic.Municipality(profile.code, profile.prefecture, profile.name)
    generator = synthetic.generate(municipality, today,
                                   offered_fiscal_years(today, profile.tax_years), residents,
                                   seed=seed, start=start)
    images = SealImages()
    card_holders: list[tuple[str, str, str]] = []
    pending: asyncio.Task[None] | None = None
    batch: list[synthetic.SyntheticHousehold] = []
    count = 0

    async def flush() -> None:
        nonlocal pending, batch
        if pending is not None:
            await pending
        rows = ([(h.household, h.members) for h in batch], _seal_rows(batch, images),
                [t for h in batch for t in h.tax_records])
        # The database thread writes this batch while we generate the next one.
        pending = asyncio.create_task(register.add_bulk(*rows))
        batch = []
        await asyncio.sleep(0)

    for household in generator:
        batch.append(household)
        summary.add(household, today)
        count += len(household.members)
        if len(card_holders) < wanted_cards:
            for r in _juminhyo_holders(household, today):
                index = synthetic.index_of(r.resident_code)
                if index is not None and len(card_holders) < wanted_cards:
                    card_holders.append((synthetic.card_key(index), r.resident_code, r.name))
        if count >= BATCH_RESIDENTS:
            await flush()
            count = 0
    if batch:
        await flush()
    if pending is not None:
        await pending
    summary.seconds = time.perf_counter() - started
    return summary, card_holders


async def issue_cards(center_url: str, pki: Path, wallet_dir: Path, code: str,
                      holders: list[tuple[str, str, str]], register: Register,
                      clock: Clock) -> list[str]:
    """A card for each holder, the way the counter issues one: the card makes
    its key, the center's JPKI certifies it for this municipality's resident."""
    # The kiosk side (virtual card, wallet) is a tester's tool: imported only here.
    from kiosk_sim.card import VirtualCard
    from kiosk_sim.wallet import Wallet
    from konbini.tls import client_context

    from .center_registration import CenterClient
    from .register import IssuedCard

    wallet = Wallet(wallet_dir)
    client = CenterClient(center_url, client_context(
        pki / "municipal" / f"{code}.cert.pem", pki / "municipal" / f"{code}.key.pem",
        pki / "tls-ca.cert.pem"), code)
    keys = []
    try:
        for key, resident_code, name in holders:
            # RSA key generation (~50 ms) off the event loop.
            card = await asyncio.to_thread(VirtualCard.create, credential="card", pin=CARD_PIN)
            issued = await client.issue_card_certificate(resident_code, card.public_key_pem(),
                                                         "card")
            card.install_certificate(issued["certificate"])
            await register.record_card(IssuedCard(issued["serial"], resident_code, "card",
                                                  "valid", clock.now().isoformat()))
            wallet.put(key, card, label=name, municipality_code=code,
                       resident_code=resident_code)
            keys.append(key)
    finally:
        await client.close()
    return keys


def add_seed_parser(sub: Any) -> None:
    """The ``seed`` sub-command, for ``__main__``'s parser."""
    seed = sub.add_parser("seed", help="seed a synthetic register of N residents")
    seed.add_argument("--code", required=True,
                      help="municipality code (a shipped profile) or a profile JSON path")
    seed.add_argument("--residents", type=int, required=True, metavar="N")
    seed.add_argument("--var", type=Path, default=Path(os.environ.get("KONBINI_VAR", "var")))
    seed.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    seed.add_argument("--cards", type=int, metavar="K",
                      help=f"cards to issue for eligible residents (default min(N, "
                           f"{DEFAULT_CARDS})); 0 needs no center")
    seed.add_argument("--wallet", type=Path, help="default: <var>/kiosk/wallet")
    seed.add_argument("--center", default=os.environ.get("KONBINI_CENTER_URL",
                                                         "https://127.0.0.1:8443"))
    seed.add_argument("--no-personas", action="store_true",
                      help="do not put the demo personas into an empty register first")


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    profile = load_profile(args.code)
    clock = Clock.from_env()
    today = clock.now().astimezone(TOKYO).date()
    cards = min(args.residents, DEFAULT_CARDS) if args.cards is None else args.cards
    register = await Register.open(
        resolve_url(None, args.var / "municipal" / profile.code / "register.db"), migrate=True)
    try:
        summary, holders = await seed_synthetic(
            register, profile, today, args.residents, seed=args.seed,
            personas=not args.no_personas, wanted_cards=cards)
        if holders:
            try:
                summary.cards = await issue_cards(
                    args.center, args.var / "pki",
                    args.wallet or args.var / "kiosk" / "wallet", profile.code, holders,
                    register, clock)
            except (Problem, OSError) as exc:
                # The register is seeded; only the cards failed (is the center up?).
                return {**summary.as_dict(), "cards_error": str(exc)}
    finally:
        await register.close()
    return summary.as_dict()


def run_seed(args: argparse.Namespace) -> int:
    if args.residents < 0 or (args.cards is not None and args.cards < 0):
        print("--residents and --cards must not be negative", file=sys.stderr)
        return 2
    result = asyncio.run(_run(args))
    print(json.dumps(result, ensure_ascii=False))
    return 1 if "cards_error" in result else 0
