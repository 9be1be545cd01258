"""``--option NAME=VALUE`` of the command line, as the ``options`` of an order."""

from __future__ import annotations

from typing import Any

BOOLEAN_OPTIONS = frozenset({"relationship", "domicile", "nationality"})
INTEGER_OPTIONS = frozenset({"fiscal_year"})


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``members=household``, ``members=m-1,m-2``, ``relationship=true``, ``fiscal_year=2025``.

    ValueError with a message a tester understands for anything else."""
    options: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--option {pair!r}: expected NAME=VALUE")
        if name == "members":
            options[name] = "household" if value == "household" else [
                m for m in value.split(",") if m]
        elif name in BOOLEAN_OPTIONS:
            if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(f"--option {name}: expected true or false")
            options[name] = value.lower() in {"true", "1", "yes"}
        elif name in INTEGER_OPTIONS:
            try:
                options[name] = int(value)
            except ValueError as exc:
                raise ValueError(f"--option {name}: expected a whole number") from exc
        else:
            options[name] = value
    return options
