"""A municipality's own settings (団体情報): name, mayor, fees, hours.

Profiles ship as JSON beside this module, one per municipality code; a
municipality's IT team can point ``--profile`` at its own file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .render.inputs import Municipality

PROFILE_DIR = Path(__file__).parent / "municipalities"


@dataclass(frozen=True)
class MaintenancePlan:
    """A window announced to the center at start-up (the demo's 横浜市)."""

    days: float
    reason: str


@dataclass(frozen=True)
class Profile:
    code: str
    name: str
    prefecture: str
    mayor_title: str
    mayor_name: str
    port: int
    services: tuple[dict[str, Any], ...]
    maintenance: MaintenancePlan | None = None
    tax_years: int = 2  # how many 年度 of tax certificates the kiosk offers
    admin_port: int = 0  # the clerk's API on loopback; 0: the port + 100

    @property
    def municipality(self) -> Municipality:
        return Municipality(self.code, self.name, self.prefecture, self.mayor_title,
                            self.mayor_name)

    def fee(self, cert_type: str) -> int | None:
        return next((s["fee_yen"] for s in self.services if s["type"] == cert_type), None)


def load_profile(code_or_path: str) -> Profile:
    path = Path(code_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{code_or_path}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    plan = data.get("maintenance")
    return Profile(
        code=data["code"], name=data["name"], prefecture=data["prefecture"],
        mayor_title=data["mayor_title"], mayor_name=data["mayor_name"], port=data["port"],
        services=tuple(data["services"]),
        maintenance=MaintenancePlan(plan["days"], plan["reason"]) if plan else None,
        tax_years=data.get("tax_years", 2), admin_port=data.get("admin_port", 0))
