"""Report benchmark: synthetic usage through the store's write path, then every period × tab.

Prints, per backend (SQLite, PostgreSQL): the write rate, and for every period and tab the
median time of a report (`build_report`) and of an export (`build_report` + `to_csv`), with
ratios against same-run baselines on the same engine: a `SELECT count(*)` over the raw usage
table (a full scan) and a `SELECT 1` round trip.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from chargeback.reports import Metric, PeriodName, ReportQuery, Tab, build_report, to_csv
from chargeback.store import Store, open_store
from chargeback.usage import SyntheticUsage, synthetic_day

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AIM_MS = 100.0  # the aim: every report and export under 100 ms at full size
console = Console()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench reports", description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000, help="usage rows in all")
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--accounts", type=int, default=2_000, help="service accounts")
    parser.add_argument("--topics", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--last-day", type=date.fromisoformat, default=date(2026, 11, 30))
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--sqlite-file", type=Path, default=None, help="keep the SQLite database here (else temp)"
    )
    parser.add_argument(
        "--postgres-schema", default=None, help="keep the PostgreSQL data in this schema"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip the writes: report on the data kept by an earlier run (--sqlite-file, "
        "--postgres-schema)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--zone", default="UTC", help="reporting zone of the measured reports")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        console.print(f"[yellow]reports benchmark ignores {' '.join(unknown)}[/]")
    return args


def main(argv: list[str]) -> int:
    """Run the benchmark on every chosen backend; return 0."""
    args = parse_args(argv)
    usage = SyntheticUsage(
        rows=args.rows,
        days=args.days,
        service_accounts=args.accounts,
        topics=args.topics,
        last_day=args.last_day,
        seed=args.seed,
    )
    console.print(
        f"synthetic usage: {usage.rows:,} rows, {usage.days} days "
        f"({usage.first_day} to {usage.last_day}), {usage.service_accounts:,} service accounts, "
        f"{usage.topics:,} topics, seed {usage.seed}"
    )
    for backend in args.backends.split(","):
        with _database(backend.strip(), args) as url:
            _bench_backend(backend.strip(), url, usage, args)
    return 0


@contextmanager
def _database(backend: str, args: argparse.Namespace) -> Iterator[str]:
    """The run's database: kept where --sqlite-file/--postgres-schema say, else temporary."""
    if backend == "sqlite":
        if args.sqlite_file is not None:
            if not args.reuse:
                args.sqlite_file.unlink(missing_ok=True)
            yield f"sqlite:///{args.sqlite_file.resolve()}"
            return
        with tempfile.TemporaryDirectory(prefix="bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    if backend != "postgresql":
        raise SystemExit(f"unknown backend {backend!r}: use sqlite or postgresql")
    schema = args.postgres_schema or f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(args.postgres_url)
    if not args.reuse:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{args.postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        if args.postgres_schema is None:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _bench_backend(backend: str, url: str, usage: SyntheticUsage, args: argparse.Namespace) -> None:
    console.rule(f"[bold]{backend}")
    store = open_store(url)
    try:
        # Rollups of the reporting zone exist before the writes, so every write keeps them
        # up to date, as in production once the console has shown that zone.
        store.materialize_zone(args.zone)
        if not args.reuse:
            store_rows_per_s = _bench_writes(store, usage)
            _plain_insert_baseline(url, usage, store_rows_per_s)
        _vacuum(url)
        baselines = _baselines(url, args.repeat)
        _bench_reports(store, usage, args, baselines)
    finally:
        store.close()


def _bench_writes(store: Store, usage: SyntheticUsage) -> float:
    write_s = generate_s = 0.0
    rows = 0
    for day_index in range(usage.days):
        started = time.perf_counter()
        records = synthetic_day(usage, day_index)
        generated = time.perf_counter()
        store.write_usage(f"bench-{usage.seed}-{day_index}", records)
        write_s += time.perf_counter() - generated
        generate_s += generated - started
        rows += len(records)
        if day_index % 25 == 24 or day_index == usage.days - 1:
            console.print(
                f"  wrote {day_index + 1}/{usage.days} days, {rows:,} rows, "
                f"{rows / write_s:,.0f} rows/s",
                highlight=False,
            )
    console.print(
        f"[bold]write rate: {rows / write_s:,.0f} rows/s[/] ({rows:,} rows in {write_s:.1f} s, "
        f"one batch per day through Store.write_usage; generating them took {generate_s:.1f} s)"
    )
    return rows / write_s


def _plain_insert_baseline(url: str, usage: SyntheticUsage, store_rows_per_s: float) -> None:
    """Rows/s of a plain multi-row INSERT of one day's records into an unindexed scratch table."""
    rows = [
        {
            "cluster": r.cluster,
            "service_account": r.service_account,
            "topic": r.topic,
            "direction": r.direction.value,
            "window_start_utc_s": int(r.window_start_utc.timestamp()),
            "bytes": r.bytes,
        }
        for r in synthetic_day(usage, 0)
    ]
    insert = sa.text(
        "INSERT INTO bench_plain (cluster, service_account, topic, direction,"
        " window_start_utc_s, bytes) VALUES (:cluster, :service_account, :topic, :direction,"
        " :window_start_utc_s, :bytes)"
    )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE bench_plain (cluster TEXT, service_account TEXT, topic TEXT, "
                "direction TEXT, window_start_utc_s BIGINT, bytes BIGINT)"
            )
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(insert, rows)
        plain_rows_per_s = len(rows) / (time.perf_counter() - started)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE bench_plain")
    finally:
        engine.dispose()
    console.print(
        f"baseline: plain INSERT of {len(rows):,} rows into an unindexed table "
        f"{plain_rows_per_s:,.0f} rows/s; the store writes at "
        f"{store_rows_per_s / plain_rows_per_s:.2f} × that (it also upserts, keeps rollups)"
    )


def _vacuum(url: str) -> None:
    """VACUUM ANALYZE the rollups on PostgreSQL, as autovacuum does in production.

    Every write updates rollup rows in place; without a vacuum a freshly written benchmark
    database reads through ~30 dead row versions per live one (some servers, like the
    development machines', run with autovacuum off).
    """
    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for table in ("usage_days", "usage_months"):
                connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    finally:
        engine.dispose()


def _baselines(url: str, repeat: int) -> dict[str, float]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            scan = _median_ms(
                lambda: connection.exec_driver_sql("SELECT count(*) FROM usage").scalar(), repeat
            )
            ping = _median_ms(lambda: connection.exec_driver_sql("SELECT 1").scalar(), repeat)
            rows = connection.exec_driver_sql("SELECT count(*) FROM usage").scalar()
    finally:
        engine.dispose()
    console.print(
        f"baselines: SELECT count(*) over {rows:,} raw usage rows {scan:.1f} ms; "
        f"SELECT 1 round trip {ping:.3f} ms"
    )
    return {"scan": scan, "ping": ping}


def _bench_reports(
    store: Store, usage: SyntheticUsage, args: argparse.Namespace, baselines: dict[str, float]
) -> None:
    table = Table(
        title=f"report and export times (median of {args.repeat}), zone {args.zone}; "
        "wall ms (CPU ms of this process)"
    )
    for column in ("period", "tab", "rows", "report ms", "export ms", "report/scan", "export/scan"):
        table.add_column(column, justify="right")
    worst_ms = worst_cpu_ms = 0.0
    for period in PeriodName:
        for tab in Tab:
            query = ReportQuery(tab, period, usage.last_day, Metric.COST, zone=args.zone)
            build_report(store, query)  # warm-up: connection pool, caches
            report = _median_times(partial(build_report, store, query), args.repeat)
            export = _median_times(partial(_export, store, query), args.repeat)
            row_count = len(build_report(store, query).rows)
            worst_ms = max(worst_ms, report.wall_ms, export.wall_ms)
            worst_cpu_ms = max(worst_cpu_ms, report.cpu_ms, export.cpu_ms)
            table.add_row(
                period.value, tab.value, f"{row_count:,}", _ms(report), _ms(export),
                f"{report.wall_ms / baselines['scan']:.2f}",
                f"{export.wall_ms / baselines['scan']:.2f}",
            )  # fmt: skip
    console.print(table)
    verdict = "[green]met[/]" if worst_ms < AIM_MS else "[red]missed[/]"
    console.print(
        f"slowest report or export: {worst_ms:.1f} ms wall, {worst_cpu_ms:.1f} ms CPU; "
        f"aim < {AIM_MS:.0f} ms {verdict}"
    )


def _export(store: Store, query: ReportQuery) -> object:
    return to_csv(build_report(store, query))


@dataclass(frozen=True)
class Timing:
    """Median wall time and median CPU time of this process (steadier on a shared machine)."""

    wall_ms: float
    cpu_ms: float


def _median_times(step: Callable[[], object], repeat: int) -> Timing:
    walls, cpus = [], []
    for _ in range(max(1, repeat)):
        started, started_cpu = time.perf_counter(), time.process_time()
        step()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - started_cpu) * 1000)
    return Timing(statistics.median(walls), statistics.median(cpus))


def _median_ms(step: Callable[[], object], repeat: int) -> float:
    return _median_times(step, repeat).wall_ms


def _ms(timing: Timing) -> str:
    style = "" if timing.wall_ms < AIM_MS else "[red]"
    return f"{style}{timing.wall_ms:.1f} ({timing.cpu_ms:.0f})"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
