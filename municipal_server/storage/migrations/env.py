"""Alembic's entry for the register's database (run by ``python -m municipal_server migrate``)."""

from konbini.migrations import run_env
from municipal_server.storage.tables import metadata

run_env(metadata)
