"""Synthetic usage history for the 13 months before today, under a cluster of its own."""

from __future__ import annotations

from collections.abc import Callable

from chargeback.demo.errors import DemoError
from chargeback.store import Store

SYNTHETIC_CLUSTER = "synthetic-history"


def add_history(store: Store, say: Callable[[str], None]) -> None:
    """Add the synthetic history once per store.

    Raises:
        DemoError: the synthetic generator is not available.
    """
    del store, say
    raise DemoError("--history: the synthetic usage generator is not available yet")
