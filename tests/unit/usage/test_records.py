from datetime import UTC, datetime, timedelta, timezone

import pytest

from chargeback.usage import WINDOW_SECONDS, window_start


def test_window_start_floors_to_the_quarter_hour_in_utc() -> None:
    # Given an instant in a zone 5:45 ahead of UTC
    nepal = timezone(timedelta(hours=5, minutes=45))
    instant = datetime(2026, 1, 1, 6, 0, 1, tzinfo=nepal)  # 00:15:01 UTC

    # When
    start = window_start(instant)

    # Then
    assert start == datetime(2026, 1, 1, 0, 15, tzinfo=UTC)
    assert WINDOW_SECONDS == 15 * 60


def test_window_start_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        window_start(datetime(2026, 1, 1))  # noqa: DTZ001
