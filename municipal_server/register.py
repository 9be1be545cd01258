"""The resident register (住民基本台帳): its records (municipal_server/residents.py)
and its storage (municipal_server/storage/), under the name the rest of the
server imports them by."""

from .residents import (
    DECEASED,
    IN_HOUSEHOLD,
    MOVED_OUT,
    MOVING_OUT,
    RESIDENT,
    STATUSES,
    USE_PENDING,
    USE_REGISTERED,
    DamageReport,
    Disaster,
    FamilyRegister,
    ForeignStatus,
    Household,
    Issuance,
    IssuedCard,
    KosekiEntry,
    Resident,
    SealRegistration,
    TaxRecord,
    UnknownRecord,
)
from .storage import Register, migrate_database

__all__ = [
    "DECEASED",
    "IN_HOUSEHOLD",
    "MOVED_OUT",
    "MOVING_OUT",
    "RESIDENT",
    "STATUSES",
    "USE_PENDING",
    "USE_REGISTERED",
    "DamageReport",
    "Disaster",
    "FamilyRegister",
    "ForeignStatus",
    "Household",
    "Issuance",
    "IssuedCard",
    "KosekiEntry",
    "Register",
    "Resident",
    "SealRegistration",
    "TaxRecord",
    "UnknownRecord",
    "migrate_database",
]
