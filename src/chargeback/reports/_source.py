"""What the engine needs from the store: usage laid out per local day or month, and the prices.

`chargeback.store.Store` satisfies `UsageSource`; tests may pass a smaller fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

from chargeback.pricing import PriceSettings
from chargeback.usage import Direction


class UsageGridLike(Protocol):
    """Bytes per (service account, direction), one entry per bucket in `bucket_starts`.

    A bucket start is a local day, or the first day of a local month. Keys without bytes in
    any bucket may be left out.
    """

    @property
    def bucket_starts(self) -> Sequence[date]: ...
    @property
    def bytes_by_key(self) -> Mapping[tuple[str, Direction], Sequence[int]]: ...


class UsageSource(Protocol):
    """The store's read side, as the report engine uses it."""

    def daily_grid(
        self, zone: str, first_day: date, last_day: date, cluster: str | None
    ) -> UsageGridLike: ...

    def monthly_grid(
        self, zone: str, first_month: date, last_day: date, cluster: str | None
    ) -> UsageGridLike: ...

    def get_prices(self) -> PriceSettings: ...
