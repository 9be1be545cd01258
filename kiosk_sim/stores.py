"""The stores a tester can put the simulated kiosk in: one per terminal
certificate in the dev PKI, whose subject names the chain and the store
(``CN=<terminal id>, O=<chain>, OU=<store id>``, API.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

CHAIN_NAMES = {"seven-eleven": "セブン-イレブン", "lawson": "ローソン",
               "familymart": "ファミリーマート"}


@dataclass(frozen=True)
class Store:
    terminal_id: str
    chain: str
    store_id: str

    def to_json(self) -> dict[str, str]:
        return {"terminal_id": self.terminal_id, "chain": self.chain,
                "chain_name": CHAIN_NAMES.get(self.chain, self.chain), "store_id": self.store_id}


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def discover_stores(pki_dir: Path) -> list[Store]:
    """Every kiosk terminal whose certificate and key are in ``pki_dir/kiosk``."""
    stores = []
    for cert_path in sorted((pki_dir / "kiosk").glob("*.cert.pem")):
        terminal_id = cert_path.name.removesuffix(".cert.pem")
        if not (cert_path.parent / f"{terminal_id}.key.pem").is_file():
            continue
        try:
            subject = x509.load_pem_x509_certificate(cert_path.read_bytes()).subject
        except ValueError as exc:
            log.warning("skipping %s: %s", cert_path.name, exc)
            continue
        stores.append(Store(terminal_id, _attribute(subject, NameOID.ORGANIZATION_NAME),
                            _attribute(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)))
    return stores
