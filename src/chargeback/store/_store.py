"""The Store: one object over one database, and `open_store` that creates and migrates it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from chargeback.pricing import GbUnit, PriceSettings
from chargeback.store import _accounts, _rollups
from chargeback.store import _tables as t
from chargeback.store._engine import (
    create_store_engine,
    migrate,
    parse_store_url,
    write_transaction,
)
from chargeback.store._errors import (
    CountOverflowError,
    RecordError,
    RecordsRefusedError,
    StoreError,
)
from chargeback.store._overflows import overflowing_records
from chargeback.store._rollups import UsageGrid
from chargeback.store._rows import ApiTokenRow, GatewayUserRow, ImportResult, UsageTotal, UserRow
from chargeback.store._usage_writes import (
    WRITE_CHUNK_ROWS,
    add_usage,
    claim_batch,
    refused_records,
    set_batch_record_count,
    sum_records,
)
from chargeback.store._zones import load_zone
from chargeback.usage import UsageFileError, UsageRecord, digest_usage_file, read_usage_file

_PRICES_ROW_ID = 1
DEFAULT_ZONE = "UTC"
# Rollups of 20 zones cost about 200 MB for 2,000 accounts over 400 days (operations.md).
DEFAULT_MAX_REPORT_ZONES = 20
_READ_BLOCK_BYTES = 1 << 20
ImportPhase = Literal["checking", "importing"]


def open_store(
    url: str,
    *,
    max_report_zones: int = DEFAULT_MAX_REPORT_ZONES,
    default_zone: str = DEFAULT_ZONE,
) -> Store:
    """Open the store at SQLAlchemy `url`, creating the database file and schema if needed.

    Reports build rollups for at most `max_report_zones` time zones, and always for
    `default_zone`, the configured reporting zone (see `Store`).

    Raises:
        StoreError: the URL is invalid, the database cannot be reached or migrated, the
            default zone is unknown or the limit is below 1.
    """
    if max_report_zones < 1:
        raise StoreError(f"max_report_zones {max_report_zones} is not a positive number")
    load_zone(default_zone)
    parsed = parse_store_url(url)
    engine = create_store_engine(parsed)
    try:
        migrate(engine)
    except sa.exc.SQLAlchemyError as error:
        engine.dispose()
        # The driver's own message (SQLAlchemy's adds a link and the SQL), on one line.
        reason = error.orig if isinstance(error, sa.exc.DBAPIError) else error
        one_line = " ".join(str(reason).split())
        raise StoreError(f"cannot open the store at {_shown(parsed)}: {one_line}") from error
    store = Store(engine, parsed, max_report_zones, default_zone)
    store._build_default_zone_while_empty()
    return store


class Store:
    """Usage, rollups, prices, settings and accounts in one database. Thread-safe.

    Implements `chargeback.usage.UsageSink`. Every method is one transaction.

    A report in a time zone whose rollups do not exist builds them, unless rollups of
    `max_report_zones` zones exist already (`ZoneLimitError`): each zone costs a pass over all
    usage under the write lock and its own rollup rows, and any signed-in viewer picks the
    zone. `default_zone` (the configured reporting zone) and `materialize_zone`, an operator's
    call, are not limited.
    """

    def __init__(
        self,
        engine: Engine,
        url: URL,
        max_report_zones: int = DEFAULT_MAX_REPORT_ZONES,
        default_zone: str = DEFAULT_ZONE,
    ) -> None:
        self._engine = engine
        self._url = url
        self._max_report_zones = max_report_zones
        self._default_zone = default_zone
        self._materialized_zones: set[str] = set()

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return _shown(self._url)

    # -- usage ---------------------------------------------------------------------------------

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> bool:
        """Add `records` under `batch_id` atomically; return False if the batch id was stored.

        Raises:
            RecordsRefusedError: records are invalid, or would take a count (their window, or
                a local day or month of a zone) past MAX_BYTES with the bytes stored before
                them; all are named, and nothing is written. It is a `usage.UsageRefusedError`
                (retrying cannot help) and a StoreError.
            StoreError: the database failed.
        """
        try:
            totals = sum_records(records, f"batch {batch_id!r}")
        except RecordError as error:
            raise self._refusal(str(error), records) from None
        try:
            with self._writing() as connection:
                if not claim_batch(connection, batch_id, len(records)):
                    return False
                add_usage(connection, totals)
        except CountOverflowError as error:
            raise self._refusal(str(error), records) from None
        return True

    def _refusal(self, message: str, records: Sequence[UsageRecord]) -> StoreError:
        """The error that names the records of a refused write, so that the rest can be written.

        Invalid records first; failing those, the records whose counts would overflow. Should
        none be found (the write's own check and this one disagree), a plain StoreError: a
        retry may then pass, where refusing records could only lose usage.
        """
        refused = refused_records(records)
        if not refused:
            with self._reading() as connection:
                refused = overflowing_records(connection, records)
        if not refused:
            return StoreError(message)
        return RecordsRefusedError(message, refused)

    def import_usage(
        self,
        records: Iterable[UsageRecord],
        batch_id: str,
        progress: Callable[[int], None] | None = None,
    ) -> bool:
        """Add a stream of records as ONE batch in one transaction, holding one chunk at a time.

        `progress` is called with the number of records written so far. Returns False (and
        reads nothing) if `batch_id` was stored before. Whatever `records` raises while being
        read (a bad line of a file) aborts the import; nothing of it is kept.

        Raises:
            RecordError: a record is invalid, or bytes add up past MAX_BYTES (its number
                counts from the first record of the stream).
            StoreError: the database failed, or stored bytes plus new ones pass MAX_BYTES.
        """
        with self._writing() as connection:
            if not claim_batch(connection, batch_id, 0):
                return False
            record_count = 0
            iterator = iter(records)
            while chunk := list(islice(iterator, WRITE_CHUNK_ROWS)):
                totals = sum_records(chunk, f"import {batch_id!r}", record_count + 1)
                add_usage(connection, totals)
                record_count += len(chunk)
                if progress is not None:
                    progress(record_count)
            set_batch_record_count(connection, batch_id, record_count)
        return True

    def import_usage_file(
        self, path: Path, progress: Callable[[ImportPhase, int, int], None] | None = None
    ) -> ImportResult:
        """Import a usage file (spec section 7) once: its identity is its records, not its bytes.

        The file is read twice. First every line is checked and the records are digested
        (`digest_usage_file`) before any lock is taken, so a bad line never holds up the
        gateway's writes. Then it is written in one transaction as batch
        `file-records:<count>:<digest>`, so a file saved again with other line ends, blank
        lines, row order or UTC offsets is not counted twice. `progress(phase, lines_done,
        lines_total)` is called as each pass goes on, phase "checking" then "importing".

        Raises:
            UsageFileError: a line is bad, or its bytes add up past MAX_BYTES (its number and
                the reason are in the message); nothing of the file is imported.
            StoreError: the database failed, or bytes stored before plus the file's would
                pass MAX_BYTES (the message names the lines being written).
        """
        lines_total = _count_lines(path)

        def checked(line_number: int) -> None:
            if progress is not None:
                progress("checking", line_number, lines_total)

        digest = digest_usage_file(path, checked)
        batch_id = f"file-records:{digest.record_count}:{digest.records_sha256_sum}"
        chunk_lines: list[int] = []  # the line of each record of the chunk being written
        records_before_chunk = 0

        def records() -> Iterator[UsageRecord]:
            for line_number, record in read_usage_file(path):
                chunk_lines.append(line_number)
                yield record

        def written(records_written: int) -> None:
            nonlocal records_before_chunk
            if progress is not None:
                progress("importing", chunk_lines[-1], lines_total)
            records_before_chunk = records_written
            chunk_lines.clear()

        try:
            is_new = self.import_usage(records(), batch_id, written)
        except RecordError as error:
            line_number = chunk_lines[error.record_number - records_before_chunk - 1]
            raise UsageFileError(path, line_number, error.reason) from None
        except StoreError as error:
            if not chunk_lines:
                raise
            lines = f"lines {chunk_lines[0]} to {chunk_lines[-1]}"
            raise StoreError(f"{path}, {lines}: {error}") from error
        if is_new and progress is not None:
            progress("importing", lines_total, lines_total)
        return ImportResult(batch_id=batch_id, records_read=digest.record_count, is_new=is_new)

    def has_batch(self, batch_id: str) -> bool:
        """Tell whether `batch_id` was written (a gateway checking a retried flush, a test)."""
        with self._reading() as connection:
            row = connection.execute(
                sa.select(t.usage_batches.c.batch_id).where(t.usage_batches.c.batch_id == batch_id)
            ).first()
        return row is not None

    def materialize_zone(self, zone: str) -> bool:
        """Build the rollups of IANA zone `zone` now; return False if they existed.

        Reports do this on first use of a zone (up to `max_report_zones` zones); call it ahead
        (at startup) to keep the first report in a new zone fast, or to add a zone past that
        limit. It reads all raw usage once and blocks writers meanwhile.

        Raises:
            StoreError: unknown zone or database failure.
        """
        load_zone(zone)
        with self._writing() as connection:
            built = _rollups.materialize(connection, zone)
        self._materialized_zones.add(zone)
        return built

    def daily_usage(
        self, zone: str, first_day: date, last_day: date, cluster: str | None
    ) -> list[UsageTotal]:
        """Bytes per service account, direction and local day in `zone`, days inclusive.

        `cluster` None sums all clusters. Rows come in no particular order; a total of zero
        bytes is not listed. `daily_grid` is the faster form of the same numbers.

        Raises:
            StoreError: unknown zone or database failure.
        """
        return self.daily_grid(zone, first_day, last_day, cluster).totals()

    def monthly_usage(
        self, zone: str, first_month: date, last_day: date, cluster: str | None
    ) -> list[UsageTotal]:
        """Bytes per service account, direction and local month, from `first_month`'s month to
        `last_day`'s, which counts only up to `last_day`; `bucket_start` is the 1st of the month.

        `monthly_grid` is the faster form of the same numbers.

        Raises:
            StoreError: unknown zone or database failure.
        """
        return self.monthly_grid(zone, first_month, last_day, cluster).totals()

    def daily_grid(
        self, zone: str, first_day: date, last_day: date, cluster: str | None
    ) -> UsageGrid:
        """Bytes per (service account, direction) as one list per key, one entry per local day.

        Raises:
            StoreError: unknown zone or database failure.
        """
        self._ensure_zone(zone)
        with self._reading() as connection:
            return _rollups.daily_grid(connection, zone, first_day, last_day, cluster)

    def monthly_grid(
        self, zone: str, first_month: date, last_day: date, cluster: str | None
    ) -> UsageGrid:
        """Bytes per (service account, direction) as one list per key, one entry per local
        month; the month of `last_day` counts only up to `last_day`.

        Raises:
            StoreError: unknown zone or database failure.
        """
        self._ensure_zone(zone)
        with self._reading() as connection:
            return _rollups.monthly_grid(connection, zone, first_month, last_day, cluster)

    def clusters(self) -> list[str]:
        """Every cluster that has usage, by name."""
        with self._reading() as connection:
            rows = connection.execute(
                sa.select(t.usage_clusters.c.cluster).order_by(t.usage_clusters.c.cluster)
            )
            return list(rows.scalars())

    def _build_default_zone_while_empty(self) -> None:
        # Listing the default reporting zone while there is no usage costs nothing, and spares
        # its first report a pass over a store that has grown large by then.
        with self._reading() as connection:
            has_usage = connection.execute(sa.select(t.usage.c.cluster).limit(1)).first()
            has_zones = connection.execute(sa.select(t.rollup_zones.c.zone).limit(1)).first()
        if has_usage is None and has_zones is None:
            self.materialize_zone(self._default_zone)

    def _ensure_zone(self, zone: str) -> None:
        """Build `zone`'s rollups for a report, within `max_report_zones`.

        Raises:
            ZoneLimitError: they do not exist, and those of `max_report_zones` zones do.
            StoreError: unknown zone or database failure.
        """
        if zone in self._materialized_zones:
            return
        load_zone(zone)
        with self._reading() as connection:
            exists = _rollups.is_materialized(connection, zone)
        if not exists:
            limit = None if zone == self._default_zone else self._max_report_zones
            with self._writing() as connection:
                _rollups.materialize(connection, zone, limit)
        self._materialized_zones.add(zone)

    # -- prices and settings -------------------------------------------------------------------

    def get_prices(self) -> PriceSettings:
        """The prices in force (the defaults until set)."""
        with self._reading() as connection:
            row = connection.execute(
                sa.select(t.price_settings).where(t.price_settings.c.id == _PRICES_ROW_ID)
            ).first()
        if row is None:
            return PriceSettings()
        return PriceSettings(
            ingress_per_gb=Decimal(row.ingress_per_gb),
            egress_per_gb=Decimal(row.egress_per_gb),
            currency=row.currency,
            gb_unit=GbUnit(row.gb_unit),
        )

    def set_prices(self, prices: PriceSettings) -> None:
        """Replace the prices (validated again: `PriceSettings` refuses bad values)."""
        checked = PriceSettings(
            prices.ingress_per_gb, prices.egress_per_gb, prices.currency, prices.gb_unit
        )
        values = {
            "ingress_per_gb": str(checked.ingress_per_gb),
            "egress_per_gb": str(checked.egress_per_gb),
            "currency": checked.currency,
            "gb_unit": checked.gb_unit.value,
            "updated_at_utc": datetime.now(UTC),
        }
        with self._writing() as connection:
            table = t.price_settings
            updated = connection.execute(
                sa.update(table).where(table.c.id == _PRICES_ROW_ID).values(values)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(table).values(id=_PRICES_ROW_ID, **values))

    def get_setting(self, key: str) -> str | None:
        """The value of setting `key`, if set."""
        with self._reading() as connection:
            return connection.execute(
                sa.select(t.settings.c.value).where(t.settings.c.key == key)
            ).scalar_one_or_none()

    def set_setting(self, key: str, value: str) -> None:
        """Set `key` to `value`."""
        with self._writing() as connection:
            updated = connection.execute(
                sa.update(t.settings).where(t.settings.c.key == key).values(value=value)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(t.settings).values(key=key, value=value))

    # -- console users, API tokens, gateway users ----------------------------------------------

    def add_user(self, name: str, password_hash: str, role: str) -> None:
        """Add a console user. Raises StoreError if the name exists."""
        with self._writing() as connection:
            _accounts.add_user(connection, name, password_hash, role)

    def get_user(self, name: str) -> UserRow | None:
        """The console user `name`, if any."""
        with self._reading() as connection:
            return _accounts.get_user(connection, name)

    def list_users(self) -> list[UserRow]:
        """Every console user, by name."""
        with self._reading() as connection:
            return _accounts.list_users(connection)

    def set_user_password(self, name: str, password_hash: str) -> None:
        """Replace a user's password hash. Raises StoreError if there is no such user."""
        with self._writing() as connection:
            _accounts.set_user_password(connection, name, password_hash)

    def remove_user(self, name: str) -> bool:
        """Remove a console user and their API tokens; False if there was no such user."""
        with self._writing() as connection:
            return _accounts.remove_user(connection, name)

    def add_api_token(self, name: str, token_hash: str, user_name: str) -> None:
        """Add an API token's hash for an existing user. Raises StoreError on clashes."""
        with self._writing() as connection:
            _accounts.add_api_token(connection, name, token_hash, user_name)

    def find_api_token(self, token_hash: str) -> ApiTokenRow | None:
        """The API token whose hash is `token_hash`, if any."""
        with self._reading() as connection:
            return _accounts.find_api_token(connection, token_hash)

    def list_api_tokens(self) -> list[ApiTokenRow]:
        """Every API token, by name."""
        with self._reading() as connection:
            return _accounts.list_api_tokens(connection)

    def remove_api_token(self, name: str) -> bool:
        """Remove an API token; False if there was none of that name."""
        with self._writing() as connection:
            return _accounts.remove_api_token(connection, name)

    def put_gateway_user(self, row: GatewayUserRow) -> None:
        """Add or replace one gateway user's SCRAM material for one mechanism."""
        with self._writing() as connection:
            _accounts.put_gateway_user(connection, row)

    def get_gateway_user(self, name: str, mechanism: str | None = None) -> GatewayUserRow | None:
        """Gateway user `name`'s row for `mechanism` (default: any, SHA-512 first), if any."""
        with self._reading() as connection:
            if mechanism is None:
                return _accounts.get_gateway_user(connection, name)
            return _accounts.get_gateway_user_for(connection, name, mechanism)

    def list_gateway_users(self) -> list[GatewayUserRow]:
        """Every gateway user row, by name and mechanism."""
        with self._reading() as connection:
            return _accounts.list_gateway_users(connection)

    def remove_gateway_user(self, name: str) -> bool:
        """Remove gateway user `name` (all mechanisms); False if there was none."""
        with self._writing() as connection:
            return _accounts.remove_gateway_user(connection, name)

    def close(self) -> None:
        """Close every database connection."""
        self._engine.dispose()

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            with write_transaction(self._engine) as connection:
                yield connection
        except sa.exc.DBAPIError as error:
            raise StoreError(f"store at {self.url}: database error: {error.orig}") from error

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection, connection.begin():
                yield connection
        except sa.exc.DBAPIError as error:
            raise StoreError(f"store at {self.url}: database error: {error.orig}") from error


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _count_lines(path: Path) -> int:
    """Count the lines of `path` (a last line without a line end counts), for progress."""
    lines = 0
    last_block = b""
    try:
        with path.open("rb") as file:
            while block := file.read(_READ_BLOCK_BYTES):
                lines += block.count(b"\n")
                last_block = block
    except OSError as error:
        raise UsageFileError(path, 0, f"cannot read the file: {error.strerror}") from None
    if last_block and not last_block.endswith(b"\n"):
        lines += 1
    return lines
