"""What the engine needs from the store: usage totals per local day or month, and the prices.

`chargeback.store.Store` satisfies `UsageSource`; tests may pass a smaller fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from chargeback.pricing import PriceSettings
from chargeback.usage import Direction


class UsageTotalLike(Protocol):
    """Bytes one service account moved in one direction within one local day or month."""

    @property
    def service_account(self) -> str: ...
    @property
    def direction(self) -> Direction: ...
    @property
    def bucket_start(self) -> date: ...
    @property
    def bytes(self) -> int: ...


class UsageSource(Protocol):
    """The store's read side, as the report engine uses it."""

    def daily_usage(
        self, zone: str, first_day: date, last_day: date, cluster: str | None
    ) -> Sequence[UsageTotalLike]: ...

    def monthly_usage(
        self, zone: str, first_month: date, last_day: date, cluster: str | None
    ) -> Sequence[UsageTotalLike]: ...

    def get_prices(self) -> PriceSettings: ...
