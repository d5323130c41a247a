"""Example prices for a fresh demo store, so that the Overall Cost tab shows money at once."""

from __future__ import annotations

from decimal import Decimal

from chargeback.pricing import PriceSettings
from chargeback.store import Store

DEMO_PRICES = PriceSettings(ingress_per_gb=Decimal("0.10"), egress_per_gb=Decimal("0.05"))
_SEEDED_SETTING = "demo.prices_seeded"


def seed_demo_prices(store: Store) -> bool:
    """Set DEMO_PRICES once per store, unless someone already set prices; return whether set.

    Prices changed later (in the console's dialog or with `chargeback pricing set`) are kept.
    """
    if store.get_setting(_SEEDED_SETTING) is not None:
        return False
    is_untouched = store.get_prices() == PriceSettings()
    if is_untouched:
        store.set_prices(DEMO_PRICES)
    store.set_setting(_SEEDED_SETTING, "true")
    return is_untouched
