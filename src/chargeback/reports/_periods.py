"""Periods and their buckets (spec section 3): local calendar days or months ending on the as-of
date. Pure date arithmetic; the store turns local days into UTC instants.
"""

from __future__ import annotations

from datetime import date, timedelta

from chargeback.reports._model import Bucket, PeriodName

_DAYS_IN_DAILY_PERIOD = {PeriodName.LAST_7_DAYS: 7, PeriodName.LAST_30_DAYS: 30}
_MONTHS_IN_MONTHLY_PERIOD = {PeriodName.LAST_6_MONTHS: 6, PeriodName.LAST_12_MONTHS: 12}


def is_daily(period: PeriodName) -> bool:
    """Whether `period` has daily buckets (7D, 30D) rather than monthly ones.

    >>> is_daily(PeriodName.LAST_7_DAYS), is_daily(PeriodName.YEAR_TO_DATE)
    (True, False)
    """
    return period in _DAYS_IN_DAILY_PERIOD


def period_buckets(period: PeriodName, as_of: date) -> tuple[Bucket, ...]:
    """Return the buckets of `period` ending on `as_of`, oldest first.

    >>> [b.label for b in period_buckets(PeriodName.YEAR_TO_DATE, date(2026, 3, 5))]
    ['2026-01', '2026-02', '2026-03']
    """
    if is_daily(period):
        return _daily_buckets(_DAYS_IN_DAILY_PERIOD[period], as_of)
    if period is PeriodName.YEAR_TO_DATE:
        return _monthly_buckets(as_of.month, as_of)
    return _monthly_buckets(_MONTHS_IN_MONTHLY_PERIOD[period], as_of)


def _daily_buckets(day_count: int, as_of: date) -> tuple[Bucket, ...]:
    first_day = as_of - timedelta(days=day_count - 1)
    days = (first_day + timedelta(days=offset) for offset in range(day_count))
    return tuple(Bucket(label=day.isoformat(), first_day=day, last_day=day) for day in days)


def _monthly_buckets(month_count: int, as_of: date) -> tuple[Bucket, ...]:
    firsts = [_add_months(as_of.replace(day=1), -offset) for offset in range(month_count)]
    firsts.reverse()
    return tuple(
        Bucket(
            # Not strftime("%Y"): it does not pad years before 1000 on every platform.
            label=first.isoformat()[:7],
            first_day=first,
            # The as-of month counts only up to the as-of date itself.
            last_day=min(as_of, _add_months(first, 1) - timedelta(days=1)),
        )
        for first in firsts
    )


def _add_months(first_of_month: date, months: int) -> date:
    """The 1st of the month `months` after (or before) `first_of_month`'s month."""
    month_index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, 1)
