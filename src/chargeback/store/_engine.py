"""Opening a database: the engine, SQLite's pragmas and locking, and Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Engine

from chargeback.store._errors import StoreError

# Writers wait this long for another writer (the gateway flushing while an import runs) before
# failing; materializing a new zone's rollups on a large store can hold the lock this long.
SQLITE_BUSY_TIMEOUT_MS = 300_000
# The key of PostgreSQL's advisory lock that serializes concurrent migrations of one database.
_MIGRATION_LOCK_KEY = 0x63686172676562  # "chargeb"


def parse_store_url(url: str) -> URL:
    """Parse a SQLAlchemy URL; bare `postgresql://` and `postgres://` mean psycopg 3.

    Raises:
        StoreError: the URL cannot be parsed or names a database we do not support.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise StoreError(f"store URL {url!r} is not a database URL: {error}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL {parsed.render_as_string(hide_password=True)!r}: only sqlite and "
            "postgresql databases are supported"
        )
    return parsed


def create_store_engine(url: URL) -> Engine:
    """Create the engine for `url`; for a SQLite file, create its folder and switch on WAL.

    Raises:
        StoreError: the folder of a SQLite file cannot be created (a file is in the way, no
            permission, a read-only or virtual file system).
    """
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True)
    database = url.database or ""
    if not database or database == ":memory:":
        # One shared connection: otherwise every pooled connection would see its own empty
        # in-memory database.
        engine = sa.create_engine(
            url, poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        if not database.startswith("file:"):
            _create_folder_of(Path(database).expanduser(), url)
        engine = sa.create_engine(url)
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _create_folder_of(database: Path, url: URL) -> None:
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror
        if isinstance(error, FileExistsError):
            reason = "a file of that name is in the way"
        elif isinstance(error, NotADirectoryError):
            reason = "a part of its path is a file, not a folder"
        raise StoreError(
            f"cannot open the SQLite store {url.render_as_string(hide_password=True)!r}: "
            f"cannot create the folder {error.filename or database.parent}: {reason}"
        ) from None


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN itself, so writers can ask for IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit is on disk when write_usage returns, so accepted usage survives power loss.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A writer takes the write lock up front: a deferred transaction that later tries to write
    # can fail with SQLITE_BUSY instead of waiting, which would lose a gateway flush.
    if connection.get_execution_options().get("chargeback_writes", False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Open one write transaction: committed when the block ends, rolled back if it raises."""
    with engine.connect() as connection:
        writer = connection.execution_options(chargeback_writes=True)
        with writer.begin():
            yield writer


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision shipped in this package."""
    config = Config()
    config.set_main_option("script_location", "chargeback.store:migrations")
    with write_transaction(engine) as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
