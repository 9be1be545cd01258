"""The service clock: real time, optionally started at another instant.

``KONBINI_CLOCK=<ISO instant>`` starts the clock there; it then runs on in
real time. Services keep one Clock on their app (never a module global) so a
test or the kiosk's tester controls can move it."""

from __future__ import annotations

import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
CLOCK_ENV = "KONBINI_CLOCK"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; a value without offset is taken as Asia/Tokyo."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=TOKYO)
    return value


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self._offset = 0.0
        if start is not None:
            self.set(start)

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Clock:
        value = (environ if environ is not None else os.environ).get(CLOCK_ENV, "").strip()
        return cls(parse_instant(value) if value else None)

    def set(self, instant: datetime) -> None:
        """Jump to ``instant``; the clock keeps running from there."""
        self._offset = instant.timestamp() - time.time()

    def reset(self) -> None:
        self._offset = 0.0

    def set_offset(self, seconds: float) -> None:
        """Run ``seconds`` ahead of real time (another process's setting)."""
        self._offset = seconds

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> datetime:
        """The current instant, in Asia/Tokyo."""
        return datetime.fromtimestamp(time.time() + self._offset, TOKYO)


def isoformat(value: datetime) -> str:
    """ISO 8601 with offset and whole seconds, as the wire contract writes times."""
    return value.replace(microsecond=0).isoformat()
