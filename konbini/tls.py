"""Mutual-TLS contexts and the identity a peer's certificate carries.

API.md fixes the subjects: kiosk terminals ``CN=<terminal id>, O=<chain>,
OU=<store id>``; municipal servers ``CN=<municipality code>``; the center
``CN=center``. All are issued by the TLS CA of the (dev) PKI."""

from __future__ import annotations

import hashlib
import re
import ssl
import weakref
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aiohttp import web

_MUNICIPALITY_CN = re.compile(r"^\d{6}$")
_CHAIN_CN = re.compile(r"^chain:[a-z0-9-]{1,40}$")


class PeerRole(StrEnum):
    KIOSK = "kiosk"
    MUNICIPALITY = "municipality"
    CENTER = "center"
    CHAIN = "chain"  # a convenience-store chain: CN=chain:<name> (its terminal registry)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PeerIdentity:
    """Who is on the other end of a mutual-TLS connection."""

    common_name: str
    organization: str | None = None
    organizational_unit: str | None = None
    # SHA-256 of the certificate's DER (hex): the certificate itself, where the
    # subject is only what it says. Terminals are known by this (center/terminals.py).
    fingerprint: str | None = None

    @property
    def role(self) -> PeerRole:
        if self.organization and self.organizational_unit:
            return PeerRole.KIOSK
        if self.common_name == "center" and not self.organization:
            return PeerRole.CENTER
        if _MUNICIPALITY_CN.match(self.common_name) and not self.organization:
            return PeerRole.MUNICIPALITY
        if _CHAIN_CN.match(self.common_name) and not self.organization:
            return PeerRole.CHAIN
        return PeerRole.UNKNOWN

    @property
    def terminal_id(self) -> str:
        return self.common_name

    @property
    def chain(self) -> str:
        """A kiosk's chain (O), or a chain certificate's own name (CN=chain:<name>)."""
        if self.role is PeerRole.CHAIN:
            return self.common_name.removeprefix("chain:")
        return self.organization or ""

    @property
    def store_id(self) -> str:
        return self.organizational_unit or ""


def identity_from_peercert(peercert: dict | None,
                           der: bytes | None = None) -> PeerIdentity | None:
    """Read the subject of ``SSLSocket.getpeercert()`` (a verified certificate);
    ``der`` (``getpeercert(binary_form=True)``) gives the fingerprint."""
    if not peercert:
        return None
    fields: dict[str, str] = {}
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            fields.setdefault(key, value)
    cn = fields.get("commonName")
    if not cn:
        return None
    return PeerIdentity(cn, fields.get("organizationName"), fields.get("organizationalUnitName"),
                        hashlib.sha256(der).hexdigest() if der else None)


def peer_identity(request: web.Request) -> PeerIdentity | None:
    transport = request.transport
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    # A connection's peer cannot change, and a kiosk sends several requests on
    # one connection: decode its certificate once per connection, not per request.
    identity = _PEERS.get(ssl_object)
    if identity is None:
        identity = identity_from_peercert(ssl_object.getpeercert(),
                                          ssl_object.getpeercert(binary_form=True))
        if identity is not None:
            _PEERS[ssl_object] = identity
    return identity


# Per TLS connection (dropped with it), so nothing outlives the connection.
_PEERS: weakref.WeakKeyDictionary[ssl.SSLObject, PeerIdentity] = weakref.WeakKeyDictionary()


def server_context(cert: Path, key: Path, client_ca: Path | None) -> ssl.SSLContext:
    """A TLS server context; with ``client_ca`` every client must present a
    certificate issued by it, so a caller without one never reaches a handler."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(cert: Path | None, key: Path | None, server_ca: Path) -> ssl.SSLContext:
    """A TLS client context presenting ``cert`` and trusting only ``server_ca``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(server_ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context
