"""Issuing the persona cards into the kiosk wallet, the way a municipal
counter issues a card: the card makes its key, the municipality has the
center's JPKI CA certify it, and the card stores the certificate."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

from cryptography import x509

from kiosk_sim.card import CardError, VirtualCard
from kiosk_sim.wallet import Wallet
from municipal_server.center_registration import CenterClient
from municipal_server.personas import persona_households, resident_code

from .clock import Clock, isoformat
from .personas import PERSONA_CARDS, PersonaCard
from .tls import client_context


def persona_labels(clock: Clock) -> dict[str, str]:
    """Persona key → the resident's name, for the tester's wallet list."""
    today = clock.now().date()
    return {key: resident.name
            for code in {card.municipality_code for card in PERSONA_CARDS}
            for household in persona_households(code, today)
            for key, resident in household.members}


async def issue_card(center_url: str, pki: Path, card_spec: PersonaCard, clock: Clock,
                     *, resident: str | None = None) -> tuple[VirtualCard, str]:
    """A new card for ``card_spec`` (or another resident of its municipality),
    in the state the persona calls for. Returns the card and its serial."""
    code = card_spec.municipality_code
    ssl_context = client_context(pki / "municipal" / f"{code}.cert.pem",
                                 pki / "municipal" / f"{code}.key.pem", pki / "tls-ca.cert.pem")
    client = CenterClient(center_url, ssl_context, code)
    try:
        card = VirtualCard.create(credential=card_spec.credential, pin=card_spec.pin)
        if card_spec.signature_pin:
            card.set_signature_pin(card_spec.signature_pin)
        validity: dict[str, str] = {}
        if card_spec.card_state == "expired":
            now = clock.now()
            validity = {"not_before": isoformat(now - timedelta(days=5 * 365)),
                        "not_after": isoformat(now - timedelta(days=1))}
        issued = await client.issue_card_certificate(
            resident or resident_code(code, card_spec.key), card.public_key_pem(),
            card_spec.credential, **validity)
        card.install_certificate(issued["certificate"])
        if card_spec.card_state == "suspended":
            await client.set_card_status(issued["serial"], "suspended", "紛失届 (lost card)")
        if card_spec.card_state == "locked":
            for _ in range(3):
                with contextlib.suppress(CardError):
                    card.verify_pin("0000")
        return card, issued["serial"]
    finally:
        await client.close()


async def load_persona_cards(center_url: str, pki: Path, wallet_dir: Path,
                             clock: Clock) -> list[str]:
    """Put every persona's card in the wallet, skipping those already there and
    known to this center (a wallet kept from a demo on another database, say the
    SQLite demo's before ``make demo-cluster``, gets new cards)."""
    wallet = Wallet(wallet_dir)
    labels = persona_labels(clock)
    added = []
    for spec in PERSONA_CARDS:
        if spec.key in wallet and await _known_to_center(center_url, pki, wallet, spec):
            continue
        card, _ = await issue_card(center_url, pki, spec, clock)
        wallet.put(spec.key, card, label=labels.get(spec.key, spec.key),
                   municipality_code=spec.municipality_code,
                   resident_code=resident_code(spec.municipality_code, spec.key))
        added.append(spec.key)
    return added


async def _known_to_center(center_url: str, pki: Path, wallet: Wallet,
                           card_spec: PersonaCard) -> bool:
    """Whether the center's JPKI registry holds the wallet card's certificate."""
    card = wallet.get(card_spec.key)
    if not card.has_certificate:
        return False
    serial = format(x509.load_der_x509_certificate(card.certificate_der()).serial_number, "x")
    code = card_spec.municipality_code
    ssl_context = client_context(pki / "municipal" / f"{code}.cert.pem",
                                 pki / "municipal" / f"{code}.key.pem", pki / "tls-ca.cert.pem")
    client = CenterClient(center_url, ssl_context, code)
    try:
        status, _ = await client.call("GET", f"/v1/jpki/certificates/{serial}")
    finally:
        await client.close()
    return status == 200
