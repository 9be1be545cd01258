"""The terminal registry (キオスク端末の登録): which kiosk certificates the
center serves, in which store, and which chains read smartphones.

A terminal is its certificate, named by the SHA-256 fingerprint of the DER:
two certificates from the kiosk CA with the same CN are two terminals, and
only an enrolled, active one is served. A chain (or the operator for it)
enrols a terminal with its store's address and opening hours, suspends it
(a stolen machine, a store closed for repairs) or revokes it for good."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from konbini.clock import isoformat
from konbini.problems import Problem
from konbini.tls import PeerIdentity, PeerRole

from .storage import CenterStore

# Chains whose kiosks read smartphone credentials (スマホ用電子証明書), per the
# 2024 public lists: ローソン and ファミリーマート. A chain's row is created with
# this default the first time one of its terminals is enrolled; the operator
# changes it with ``python -m center terminals chain``.
SMARTPHONE_CHAINS_2024 = frozenset({"lawson", "familymart"})
# Only these paths serve a kiosk's resident (sessions, orders, PDFs): the registry
# guards them. The test-environment API and the public documents stay open.
GUARDED_PREFIXES = ("/v1/sessions", "/v1/orders")


class TerminalStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # 一時停止: may be reinstated
    REVOKED = "revoked"  # 失効: final


class EnrolmentError(ValueError):
    """The certificate cannot be enrolled (not a kiosk's, or its id is taken)."""


@dataclass(frozen=True)
class Terminal:
    fingerprint: str
    terminal_id: str
    chain: str
    store_id: str
    address: str
    hours: str
    status: TerminalStatus
    reason: str
    enrolled_at: datetime
    updated_at: datetime

    def to_wire(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "terminal_id": self.terminal_id,
                "chain": self.chain, "store_id": self.store_id, "address": self.address,
                "hours": self.hours, "status": self.status.value, "reason": self.reason,
                "enrolled_at": isoformat(self.enrolled_at),
                "updated_at": isoformat(self.updated_at)}


def fingerprint(der: bytes) -> str:
    """SHA-256 of the certificate's DER, lower-case hex (as ``openssl x509 -fingerprint``
    prints it, without the colons)."""
    return hashlib.sha256(der).hexdigest()


def kiosk_identity(certificate: x509.Certificate) -> PeerIdentity:
    """The subject a kiosk certificate names (``CN=<terminal>, O=<chain>, OU=<store>``)."""
    def attribute(oid: x509.ObjectIdentifier) -> str | None:
        values = certificate.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    der = certificate.public_bytes(serialization.Encoding.DER)
    identity = PeerIdentity(attribute(NameOID.COMMON_NAME) or "",
                            attribute(NameOID.ORGANIZATION_NAME),
                            attribute(NameOID.ORGANIZATIONAL_UNIT_NAME),
                            fingerprint=fingerprint(der))
    if identity.role is not PeerRole.KIOSK or not identity.common_name:
        raise EnrolmentError("not a kiosk terminal certificate (CN, O=chain, OU=store)")
    return identity


def refusal(terminal: Terminal | None) -> Problem | None:
    """Why a terminal is not served, or None (pure)."""
    if terminal is None:
        return Problem("terminal-not-enrolled",
                       "this terminal certificate is not enrolled with the center")
    if terminal.status is TerminalStatus.REVOKED:
        return Problem("terminal-revoked", "this terminal's enrolment is revoked")
    if terminal.status is TerminalStatus.SUSPENDED:
        return Problem("terminal-suspended", "this terminal's enrolment is suspended")
    return None


# -- storage --------------------------------------------------------------------


def _terminal(row: dict[str, Any]) -> Terminal:
    return Terminal(**{**row, "status": TerminalStatus(row["status"])})


async def terminal(store: CenterStore, fingerprint_hex: str) -> Terminal | None:
    row = await store.registry.get(fingerprint_hex)
    return None if row is None else _terminal(row)


async def terminals(store: CenterStore, *, chain: str | None = None) -> list[Terminal]:
    return [_terminal(row) for row in await store.registry.listed(chain)]


async def find(store: CenterStore, key: str) -> list[Terminal]:
    """Terminals by fingerprint, or by terminal id (every certificate it had)."""
    return [_terminal(row) for row in await store.registry.find(key.lower(), key)]


async def enrol(store: CenterStore, certificate_pem: bytes, *, address: str = "",
                hours: str = "", now: datetime) -> Terminal:
    """Enrol a kiosk certificate (登録). Enrolling it again updates the address
    and hours and reinstates a suspended one; a revoked one stays revoked.
    A terminal id already enrolled in another chain or store is refused."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise EnrolmentError("not a PEM certificate") from exc
    identity = kiosk_identity(certificate)
    assert identity.fingerprint is not None
    assert identity.chain is not None and identity.store_id is not None  # a kiosk's
    # One conditional write, not read-then-write (see TerminalStore.enrol): two
    # enrolments of one id at two stores, on two workers, cannot both pass.
    written = await store.registry.enrol(
        fingerprint=identity.fingerprint, terminal_id=identity.terminal_id,
        chain=identity.chain, store_id=identity.store_id, address=address, hours=hours,
        status=TerminalStatus.ACTIVE.value, now=now,
        smartphone=identity.chain in SMARTPHONE_CHAINS_2024)
    if not written:  # say why, from what the write found
        existing = await terminal(store, identity.fingerprint)
        if existing is not None and existing.status is TerminalStatus.REVOKED:
            raise EnrolmentError("this certificate was revoked; enrol a new one")
        for other in await find(store, identity.terminal_id):
            if other.status is not TerminalStatus.REVOKED and (other.chain, other.store_id) != (
                    identity.chain, identity.store_id):
                raise EnrolmentError(f"terminal id {identity.terminal_id} is enrolled at "
                                     f"{other.chain}/{other.store_id}")
        raise EnrolmentError(f"terminal id {identity.terminal_id} could not be enrolled")
    found = await terminal(store, identity.fingerprint)
    assert found is not None
    return found


async def set_status(store: CenterStore, key: str, status: TerminalStatus, reason: str,
                     now: datetime) -> list[Terminal]:
    """Suspend, reinstate (active) or revoke the terminals ``key`` names
    (a fingerprint, or a terminal id: all its certificates). Revoked stays revoked."""
    changed = [found.fingerprint for found in await find(store, key)
               if await store.registry.set_status(found.fingerprint, status.value, reason, now)]
    return [t for t in await find(store, key) if t.fingerprint in changed]


async def set_chain(store: CenterStore, chain: str, *, smartphone: bool, now: datetime,
                    name: str = "") -> None:
    await store.registry.set_chain(chain, name=name, smartphone=smartphone, now=now)


async def chains(store: CenterStore) -> dict[str, bool]:
    """Every chain the registry knows, and whether its kiosks read smartphones."""
    return await store.registry.chains()


async def reads_smartphones(store: CenterStore, chain: str) -> bool:
    return await store.registry.reads_smartphones(chain)

