from datetime import date

import pytest

from chargeback.reports import (
    Metric,
    PeriodName,
    ReportError,
    ReportQuery,
    SortOrder,
    Tab,
    parse_query,
)

TODAY = date(2026, 12, 3)


def parse(**changes: str | None) -> object:
    values: dict[str, str | None] = {
        "tab": "overall",
        "period": "7D",
        "metric": None,
        "as_of": None,
        "tz": None,
        "filter_text": None,
        "sort": None,
        "cluster": None,
    }
    values.update(changes)
    return parse_query(**values, today=TODAY)  # type: ignore[arg-type]


def test_defaults_are_cost_utc_today_total_descending_all_clusters() -> None:
    # When
    query = parse_query("Ingress", "ytd", None, None, None, None, None, None, today=TODAY)

    # Then
    assert query.tab is Tab.INGRESS
    assert query.period is PeriodName.YEAR_TO_DATE
    assert query.metric is Metric.COST
    assert query.as_of == TODAY
    assert query.zone == "UTC"
    assert query.sort == SortOrder("total", descending=True)
    assert (query.filter_text, query.cluster) == ("", None)


def test_every_option_is_taken_as_given() -> None:
    # When
    query = parse_query(
        "egress", "12M", "bytes", "2026-02-28", "Asia/Kathmandu", "pay", "2026-01:asc", "east"
    )

    # Then
    assert (query.tab, query.period, query.metric) == (
        Tab.EGRESS,
        PeriodName.LAST_12_MONTHS,
        Metric.BYTES,
    )
    assert (query.as_of, query.zone) == (date(2026, 2, 28), "Asia/Kathmandu")
    assert query.sort == SortOrder("2026-01", descending=False)
    assert (query.filter_text, query.cluster) == ("pay", "east")


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("service_account", SortOrder("service_account", descending=False)),
        ("service_account:desc", SortOrder("service_account", descending=True)),
        ("TOTAL:asc", SortOrder("total", descending=False)),
        ("2026-12-01", SortOrder("2026-12-01", descending=True)),
    ],
)
def test_sort_direction_defaults_to_names_ascending_and_numbers_descending(
    sort: str, expected: SortOrder
) -> None:
    # When
    query = parse(sort=sort)

    # Then
    assert query.sort == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tab": "cost"}, "unknown tab 'cost': choose one of overall, ingress, egress"),
        ({"period": "2W"}, "unknown period '2W': choose one of 7D, 30D, 6M, 12M, YTD"),
        ({"metric": "euros"}, "unknown metric 'euros'"),
        ({"metric": "bytes"}, "'bytes' is not offered on the overall tab"),
        ({"as_of": "2026-02-30"}, "bad as-of date '2026-02-30': use YYYY-MM-DD"),
        ({"as_of": "20260101"}, "bad as-of date '20260101'"),
        ({"as_of": "0001-06-01"}, "as-of date 0001-06-01 is too early: use a date from 0002-01-01"),
        ({"as_of": "9999-12-31"}, "as-of date 9999-12-31 is too late: use a date up to 9998-12-31"),
        ({"as_of": "9999-01-01"}, "as-of date 9999-01-01 is too late"),
        ({"sort": ":asc"}, "bad sort ':asc': the column is missing; use COLUMN"),
        ({"sort": " :desc"}, "bad sort ' :desc': the column is missing"),
        ({"sort": ":"}, "bad sort ':': the column is missing"),
        ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"tz": "../../etc/passwd"}, "unknown time zone"),
        ({"tz": "posix/Europe/Berlin"}, "unknown time zone 'posix/Europe/Berlin': use 'Europe/"),
        ({"tz": "right/Asia/Tokyo"}, "unknown time zone 'right/Asia/Tokyo': use 'Asia/Tokyo'"),
        ({"tz": "localtime"}, "unknown time zone 'localtime': use an IANA name such as UTC"),
        ({"tz": "Factory"}, "unknown time zone 'Factory': use an IANA name such as UTC"),
        ({"sort": "total:up"}, "bad sort direction 'up'"),
        ({"sort": "owner"}, "unknown sort column 'owner'"),
        ({"sort": "2026-11-26"}, "from 2026-11-27 to 2026-12-03"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_it(
    changes: dict[str, str], message: str
) -> None:
    with pytest.raises(ReportError, match=message.replace("(", r"\(")):
        parse(**changes)


@pytest.mark.parametrize("period", ["7D", "30D", "6M", "12M", "YTD"])
def test_the_earliest_and_latest_as_of_dates_are_taken_for_every_period(period: str) -> None:
    # When
    earliest = parse(period=period, as_of="0002-01-01")
    latest = parse(period=period, as_of="9998-12-31")

    # Then
    assert (earliest.as_of, latest.as_of) == (date(2, 1, 1), date(9998, 12, 31))  # type: ignore[attr-defined]


def test_a_query_built_directly_refuses_an_as_of_date_in_the_year_9999() -> None:
    with pytest.raises(ReportError, match="as-of date 9999-06-30 is too late"):
        ReportQuery(Tab.OVERALL, PeriodName.LAST_7_DAYS, date(9999, 6, 30))
