"""The fee in force (手数料): a registration's fees with the municipality's fee
periods (campaign fees) applied at one instant."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from .model.settlement import fee_in_force
from .municipalities import Registration
from .storage import CenterStore


async def with_fees_in_force(store: CenterStore, registration: Registration,
                             now: datetime) -> Registration:
    """The registration with each offer's fee as in force at ``now``."""
    periods = await store.ledger.fee_periods(registration.code)
    if not periods:
        return registration
    return dataclasses.replace(registration, services=tuple(
        dataclasses.replace(offer, fee_yen=fee_in_force(offer.fee_yen, periods,
                                                        offer.type.value, now))
        for offer in registration.services))
