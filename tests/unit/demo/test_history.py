"""The demo's history window and its once-per-store loading."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chargeback.demo._history import SYNTHETIC_CLUSTER, add_history, history_days
from chargeback.store import open_store


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 3), (date(2025, 11, 3), date(2026, 12, 2))),
        (date(2026, 1, 1), (date(2024, 12, 1), date(2025, 12, 31))),
        (date(2025, 3, 29), (date(2024, 2, 29), date(2025, 3, 28))),
        (date(2025, 3, 31), (date(2024, 2, 29), date(2025, 3, 30))),
    ],
)
def test_history_covers_the_13_months_before_today(
    today: date, expected: tuple[date, date]
) -> None:
    # Given a day
    # When the history window is computed
    window = history_days(today)

    # Then it starts on the same day 13 months earlier (or that month's last day), ends yesterday
    assert window == expected


def test_history_is_added_once_per_store_under_its_own_cluster(tmp_path: Path) -> None:
    # Given a store that already received the history once
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    said: list[str] = []
    assert add_history(store, said.append, today=date(2026, 2, 10))
    first = store.monthly_usage("UTC", date(2025, 1, 1), date(2026, 2, 9), None)

    # When the demo asks for history again
    added_again = add_history(store, said.append, today=date(2026, 2, 10))

    # Then nothing is added, and all of it is on the synthetic cluster only
    assert not added_again
    assert store.monthly_usage("UTC", date(2025, 1, 1), date(2026, 2, 9), None) == first
    assert store.clusters() == [SYNTHETIC_CLUSTER]
    assert "already" in said[-1]
    store.close()
