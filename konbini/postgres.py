"""A real PostgreSQL server from Debian's ``postgresql`` package, in a
directory of our own, on its own port on 127.0.0.1: ``initdb``, ``pg_ctl
start``/``stop``, databases created with ``psql``. For the tests, ``make
demo-cluster`` (``var/postgres``) and the storage layer that runs on it.

PostgreSQL refuses to run as root; started by root, every command runs as
the ``postgres`` system user (the package creates it), which then owns the
data directory, so the directory's parents must let that user through
(``/tmp/...`` and a ``var/`` under a world-readable checkout do).

No Unix socket is made (``unix_socket_directories = ''``): clients use TCP
on 127.0.0.1 with the ``postgres`` superuser, trust authentication on
loopback only. That is for development and tests; production servers are
not started by this module."""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _bin_dir() -> Path:
    """The newest installed server's binaries (``/usr/lib/postgresql/<major>/bin``)."""
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin") if (p / "pg_ctl").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: `make setup` installs the Debian "
                           "package (scripts/ensure-debian-packages postgresql)")
    return versions[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    data_dir: Path
    port: int

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        """An SQLAlchemy/asyncpg-style URL of ``database``."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        user = SUPERUSER if self._as_root else None
        return subprocess.run(args, check=True, capture_output=True, text=True, user=user,
                              cwd="/", **kwargs)  # type: ignore[call-overload]

    def init(self) -> None:
        """``initdb`` once: UTF-8, C collation (identifiers and codes sort by bytes)."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        if self._as_root:
            owner = pwd.getpwnam(SUPERUSER)
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        self._run([str(_bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                   "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"])

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (initialising the directory first) and wait until
        it accepts connections."""
        self.init()
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   "-c unix_socket_directories='' -c fsync=on "
                   # A WAL segment no longer needed is unlinked, not renamed for
                   # reuse with its old contents (personal data written before
                   # the PDFs' tables became unlogged, c0006/m0006).
                   "-c wal_recycle=off")
        self._run([str(_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-l",
                   str(self.log_file), "-o", options, "-w", "-t", str(int(timeout)), "start"])
        deadline = time.monotonic() + timeout
        while not self.accepts_connections():
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL on :{self.port} not ready; see {self.log_file}")
            time.sleep(0.1)

    def accepts_connections(self) -> bool:
        found = subprocess.run([str(_bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p",
                                str(self.port), "-q"], check=False)
        return found.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql; its output, unaligned, without headers."""
        psql = shutil.which("psql") or str(_bin_dir() / "psql")
        return self._run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                          "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
                          "-c", sql]).stdout.strip()

    def create_database(self, name: str) -> str:
        """Create ``name`` if missing; its URL."""
        if not DB_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if exists != "1":
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, timeout: float = 60.0) -> None:
        """Fast shutdown: open sessions are ended, the data is flushed."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        self._run([str(_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                   "-w", "-t", str(int(timeout)), "stop"])

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m konbini.postgres start|stop --dir var/postgres --port 5433``."""
    parser = argparse.ArgumentParser(prog="python -m konbini.postgres")
    parser.add_argument("action", choices=("start", "stop", "url"))
    parser.add_argument("--dir", type=Path, default=Path("var/postgres"))
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--database", default="konbini")
    args = parser.parse_args(argv)
    server = PostgresServer(args.dir.resolve(), args.port)
    if args.action == "start":
        server.start()
        print(server.create_database(args.database))
    elif args.action == "stop":
        server.stop()
    else:
        print(server.url(args.database))


if __name__ == "__main__":
    main()
