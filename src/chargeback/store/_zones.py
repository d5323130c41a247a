"""Local days and months of UTC windows in an IANA zone, as integers the database can group by.

A local day is the number of days since 1970-01-01 of the local calendar date; a local month
is `year * 12 + month - 1`. A 15-minute window never straddles local midnight because every
real UTC offset is a whole number of quarter hours, so the window's start decides its day.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from chargeback.store._errors import StoreError

SECONDS_PER_DAY = 86_400
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Offsets are sampled this often when looking for a zone's transitions; no zone has changed
# its offset twice within three hours.
_TRANSITION_PROBE_SECONDS = 3 * 3600
_QUARTER_HOUR_SECONDS = 900
# Loadable, but not places to report in: the host's own zone, and a placeholder.
_NOT_REPORTING_ZONES = frozenset({"localtime", "Factory"})
# Folders of the system's database with a copy of every zone (POSIX time, leap seconds).
_COPY_FOLDERS = ("posix/", "right/")


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name`, one of `zone_names()`.

    Raises:
        StoreError: not such a zone (the message says why).
    """
    fault = zone_fault(name)
    if fault is not None:
        raise StoreError(fault)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # listed, but its file went away since
        raise StoreError(f"time zone {name!r} cannot be loaded") from None


@functools.cache
def zone_names() -> frozenset[str]:
    """The zone names reports may use: the IANA names of the time zone database, and UTC.

    That is `zoneinfo.available_timezones()` (the system's database, or the tzdata package),
    which leaves out the `posix/` and `right/` copies of every zone, without "localtime" (the
    host's own zone, another on every machine) and "Factory" (a placeholder, not a place).
    Anything else that `ZoneInfo` would load, a path into the database included, is refused:
    each name a report uses makes the store build and keep rollups for it.
    """
    return frozenset(available_timezones() | {"UTC"}) - _NOT_REPORTING_ZONES


def zone_fault(name: str) -> str | None:
    """Why `name` cannot be a reporting time zone; None if it can.

    >>> zone_fault("Europe/Berlin") is None
    True
    >>> zone_fault("posix/Europe/Berlin")
    "unknown time zone 'posix/Europe/Berlin': use 'Europe/Berlin' (the copies under posix/ and right/ are not offered)"
    """  # noqa: E501
    if name in zone_names():
        return None
    for prefix in _COPY_FOLDERS:
        if name.startswith(prefix) and name.removeprefix(prefix) in zone_names():
            return (
                f"unknown time zone {name!r}: use {name.removeprefix(prefix)!r} (the copies "
                "under posix/ and right/ are not offered)"
            )
    return f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Berlin"


def offset_seconds(zone: ZoneInfo, instant_s: int) -> int:
    """Return the zone's UTC offset, in seconds, at `instant_s` seconds since the epoch."""
    offset = datetime.fromtimestamp(instant_s, tz=zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return int(offset.total_seconds())


def local_day_of(zone: ZoneInfo, instant_s: int) -> int:
    """Return the local day (days since 1970-01-01) of `instant_s` in `zone`.

    >>> kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+5:45
    >>> day_start(local_day_of(kathmandu, 1767207600))  # 2025-12-31T19:00Z is 00:45 local
    datetime.date(2026, 1, 1)
    """
    return (instant_s + offset_seconds(zone, instant_s)) // SECONDS_PER_DAY


def day_number(day: date) -> int:
    """Return `day` as days since 1970-01-01.

    >>> day_number(date(1970, 1, 2))
    1
    """
    return day.toordinal() - EPOCH_ORDINAL


def day_start(day: int) -> date:
    """Return the date of day number `day` (days since 1970-01-01)."""
    return date.fromordinal(day + EPOCH_ORDINAL)


def month_number(day: date) -> int:
    """Return the month of `day` as `year * 12 + month - 1`.

    >>> month_number(date(2028, 2, 29)) - month_number(date(2027, 12, 31))
    2
    """
    return day.year * 12 + day.month - 1


def month_start(month: int) -> date:
    """Return the first day of month number `month` (`year * 12 + month - 1`)."""
    return date(month // 12, month % 12 + 1, 1)


def offset_segments(zone: ZoneInfo, first_s: int, last_s: int) -> list[tuple[int, int]]:
    """Return (start_s, offset_s) pairs: from each start on, until the next, the offset holds.

    The first pair starts at `first_s`; together they cover `first_s` to `last_s` inclusive.
    Transitions are found to the quarter hour, the finest step any zone has used.

    >>> offset_segments(ZoneInfo("Europe/Berlin"), 1774742400, 1774828800)  # 29-30 Mar 2026
    [(1774742400, 3600), (1774746000, 7200)]
    """
    segments = [(first_s, offset_seconds(zone, first_s))]
    probe_s = first_s
    while probe_s < last_s:
        next_s = min(probe_s + _TRANSITION_PROBE_SECONDS, last_s)
        if offset_seconds(zone, next_s) != segments[-1][1]:
            change_s = _first_change(zone, probe_s, next_s)
            segments.append((change_s, offset_seconds(zone, change_s)))
        probe_s = next_s
    return segments


def _first_change(zone: ZoneInfo, before_s: int, after_s: int) -> int:
    """Return the first quarter hour in (before_s, after_s] whose offset differs from before_s's."""
    offset_before = offset_seconds(zone, before_s)
    low, high = before_s, after_s  # invariant: offset(low) == offset_before != offset(high)
    while high - low > _QUARTER_HOUR_SECONDS:
        middle = low + (high - low) // 2 // _QUARTER_HOUR_SECONDS * _QUARTER_HOUR_SECONDS
        middle = max(middle, low + _QUARTER_HOUR_SECONDS)
        if offset_seconds(zone, middle) == offset_before:
            low = middle
        else:
            high = middle
    return high


def month_ends(first_day: int, last_day: int) -> list[tuple[int, int]]:
    """Return (end_day, month) pairs for every month from `first_day`'s to `last_day`'s.

    `end_day` is the day number of the first day of the next month (exclusive end).

    >>> [(day_start(end), month_start(month)) for end, month in month_ends(
    ...     day_number(date(2028, 1, 31)), day_number(date(2028, 2, 1)))]
    [(datetime.date(2028, 2, 1), datetime.date(2028, 1, 1)), (datetime.date(2028, 3, 1), datetime.date(2028, 2, 1))]
    """  # noqa: E501
    pairs = []
    month = month_number(day_start(first_day))
    while True:
        next_month_start = month_start(month + 1)
        pairs.append((day_number(next_month_start), month))
        if day_number(next_month_start) > last_day:
            return pairs
        month += 1


def utc_datetime(instant_s: int) -> datetime:
    """Return `instant_s` seconds since the epoch as an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=instant_s)
