"""Turning user input (CLI options, API query parameters) into a valid ReportQuery."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from chargeback.reports._engine import check_query
from chargeback.reports._model import (
    SERVICE_ACCOUNT_COLUMN,
    TOTAL_COLUMN,
    Metric,
    PeriodName,
    ReportQuery,
    SortOrder,
    Tab,
    check_as_of,
)
from chargeback.reports.errors import ReportError
from chargeback.store import zone_fault

DEFAULT_ZONE = "UTC"
_Choice = TypeVar("_Choice", bound=StrEnum)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_query(
    tab: str,
    period: str,
    metric: str | None,
    as_of: str | None,
    tz: str | None,
    filter_text: str | None,
    sort: str | None,
    cluster: str | None,
    today: date | None = None,
) -> ReportQuery:
    """Validate raw selection values into a ReportQuery; None means the default.

    `as_of` defaults to `today`, or else today's date in zone `tz`.

    Raises:
        ReportError: a value is unknown or malformed; the message names it and the choices.
    """
    zone = parse_zone(tz)
    query = ReportQuery(
        tab=_parse_choice(Tab, tab, "tab"),
        period=_parse_choice(PeriodName, period, "period"),
        as_of=_parse_as_of(as_of, zone, today),
        metric=Metric.COST if metric is None else _parse_choice(Metric, metric, "metric"),
        zone=zone,
        filter_text=filter_text or "",
        sort=parse_sort(sort),
        cluster=cluster or None,
    )
    check_query(query)
    return query


def _parse_choice(kind: type[_Choice], text: str, what: str) -> _Choice:
    for member in kind:
        if member.value.casefold() == text.strip().casefold():
            return member
    choices = ", ".join(member.value for member in kind)
    raise ReportError(f"unknown {what} {text!r}: choose one of {choices}")


def parse_zone(tz: str | None) -> str:
    """Return `tz` if it names an IANA time zone that reports may use (default UTC).

    Only the names of the time zone database and UTC (`store.zone_names`): not the posix/
    and right/ copies, "localtime" or "Factory", which ZoneInfo loads too.

    Raises:
        ReportError: the zone is unknown or not offered.
    """
    if tz is None or not tz.strip():
        return DEFAULT_ZONE
    fault = zone_fault(tz)
    if fault is not None:
        raise ReportError(fault)
    return tz


def _parse_as_of(as_of: str | None, zone: str, today: date | None) -> date:
    if as_of is None or not as_of.strip():
        return today if today is not None else datetime.now(ZoneInfo(zone)).date()
    text = as_of.strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        parsed = date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"bad as-of date {as_of!r}: use YYYY-MM-DD, e.g. 2026-03-31") from None
    check_as_of(parsed)  # ReportQuery checks again; here the error comes before any other
    return parsed


def parse_sort(sort: str | None) -> SortOrder:
    """Parse `COLUMN[:asc|:desc]`; without a direction, names ascend and numbers descend.

    Raises:
        ReportError: the direction is neither asc nor desc, or the column is empty.

    >>> parse_sort("service_account")
    SortOrder(column='service_account', descending=False)
    """
    if sort is None or not sort.strip():
        return SortOrder()
    column, colon, direction = sort.strip().rpartition(":")
    if not colon:
        column, direction = direction, ""
    column = column.strip()
    if not column:
        raise ReportError(f"bad sort {sort!r}: the column is missing; use COLUMN[:asc|:desc]")
    if direction.strip().lower() not in ("", "asc", "desc"):
        raise ReportError(f"bad sort direction {direction!r} in {sort!r}: use asc or desc")
    if column.lower() in (SERVICE_ACCOUNT_COLUMN, TOTAL_COLUMN):
        column = column.lower()
    descending = direction.strip().lower() == "desc" or (
        not direction.strip() and column != SERVICE_ACCOUNT_COLUMN
    )
    return SortOrder(column=column, descending=descending)
