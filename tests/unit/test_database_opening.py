"""A command that cannot open its database says why in one line (exit 2),
never a driver's traceback; a password in the URL is not printed."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from konbini.db import opening_failure

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", [
    ["center", "migrate"],
    ["municipal_server", "migrate", "--code", "131016"],
    ["center", "serve"],
])
def test_an_unreachable_database_is_one_clear_line(command: list[str], tmp_path: Path) -> None:
    url = f"postgresql://konbini:s3cret@127.0.0.1:{closed_port()}/center"
    done = subprocess.run([sys.executable, "-m", *command, "--var", str(tmp_path),
                           "--database-url", url],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: cannot open postgresql") and "cannot be reached" in (
        done.stderr)
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr


def test_an_unknown_database_and_a_refused_login_are_named() -> None:
    unknown = asyncpg.exceptions.InvalidCatalogNameError('database "m999" does not exist')
    wrapped = RuntimeError("connect failed")
    wrapped.__cause__ = unknown
    assert opening_failure(wrapped) == 'InvalidCatalogName: database "m999" does not exist'
    refused = asyncpg.exceptions.InvalidPasswordError("password authentication failed")
    assert opening_failure(refused) == "InvalidPassword: password authentication failed"
    assert opening_failure(ValueError("a bug")) is None  # keeps its traceback
