"""Alembic's entry for the center's database (run by ``python -m center migrate``)."""

from center.storage.tables import metadata
from konbini.migrations import run_env

run_env(metadata)
