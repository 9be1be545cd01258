"""Where the center keeps its state and keys, and how it listens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from konbini.db import resolve_url

from .rate_limit import TERMINAL, UPLOAD, Budget

# The inquiry site (照会サイト) of the demo's center, printed on every certificate's back.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080/verify"
INQUIRY_PATH = "/verify"


@dataclass(frozen=True)
class CenterConfig:
    var_dir: Path = Path("var/center")
    pki_dir: Path = Path("var/pki")
    host: str = "127.0.0.1"
    api_port: int = 8443
    public_port: int = 8080
    # Which chains read smartphone credentials is the terminal registry's
    # (center/terminals.py, ``python -m center terminals chain``), not configuration.
    # Test and demo environments let the tester move the clock over the API.
    dev_mode: bool = False
    # Requests per terminal per minute before 429 rate-limited, and at once.
    rate_limit_per_minute: int = 1200
    rate_limit_burst: int | None = None  # default: ten seconds' worth (200 of 1,200)
    # Uploads to the public inquiry site per client address: a bank's clerk
    # checks a certificate now and then; a script sending dozens is refused.
    upload_limit_per_minute: int = 20
    upload_limit_burst: int = 10
    # Budgets for single buckets ("terminal:<CN>", "upload:<address>"): a test
    # system gives its shared terminals room and its flood test a small budget.
    budget_overrides: Mapping[str, Budget] = field(default_factory=dict)
    municipal_timeout_seconds: float = 15.0
    # Where relying parties verify: the full address printed on the back page; None
    # for this center's own public listener (the demo's DEFAULT_PUBLIC_URL).
    public_url: str | None = None

    @property
    def inquiry_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.public_port}{INQUIRY_PATH}"

    # The operator's console (運用コンソール): its own listener, loopback by default.
    console_port: int | None = None
    console_host: str = "127.0.0.1"
    # The database: --database-url / KONBINI_DATABASE_URL, else SQLite in var_dir.
    database_url: str | None = None

    @property
    def operator_token_file(self) -> Path:
        return self.var_dir / "operator-token"
    # Several workers (``serve --workers N``, konbini/workers.py): this one's index;
    # worker i binds api_port + i with ``port_per_worker`` (a balancer in front),
    # else every worker shares api_port (SO_REUSEPORT); the public port likewise.
    worker_index: int | None = None
    port_per_worker: bool = False
    # A plain-HTTP listener with only /healthz and /readyz; worker i on + i.
    health_port: int | None = None

    @property
    def listen_api_port(self) -> int:
        return self.api_port + ((self.worker_index or 0) if self.port_per_worker else 0)

    @property
    def listen_public_port(self) -> int:
        return self.public_port + ((self.worker_index or 0) if self.port_per_worker else 0)

    @property
    def listen_health_port(self) -> int | None:
        return None if self.health_port is None else self.health_port + (self.worker_index or 0)

    @property
    def reuse_port(self) -> bool:
        return self.worker_index is not None

    def budgets(self) -> dict[str, Budget]:
        return {TERMINAL: Budget.of(self.rate_limit_per_minute, self.rate_limit_burst),
                UPLOAD: Budget.of(self.upload_limit_per_minute, self.upload_limit_burst)}

    @property
    def database(self) -> Path:
        return self.var_dir / "center.db"

    @property
    def database_url_resolved(self) -> str:
        return resolve_url(self.database_url, self.database)

    @property
    def qr_key_dir(self) -> Path:
        return self.var_dir / "qr-keys"

    @property
    def tls_cert(self) -> Path:
        return self.pki_dir / "center.cert.pem"

    @property
    def tls_key(self) -> Path:
        return self.pki_dir / "center.key.pem"

    @property
    def tls_ca(self) -> Path:
        return self.pki_dir / "tls-ca.cert.pem"
