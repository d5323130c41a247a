"""The usage record, its key types, the metering window and the sink protocol."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import NewType, Protocol

from chargeback.errors import ChargebackError

# 15 minutes: the coarsest window that still splits cleanly at every real time-zone offset
# (all are whole multiples of 15 minutes), so a local day or month never cuts a window in two.
WINDOW_SECONDS = 900
# The most bytes one stored count holds: BIGINT on PostgreSQL, INTEGER on SQLite (2**63 - 1).
# It bounds a single record and every sum the store keeps (a window, a local day or month).
MAX_BYTES = 2**63 - 1
# Usage must start before this instant. Python's calendar ends with the year 9999; a report
# works out the local day of a window in zones up to 14 hours ahead of UTC and the first day
# of the month after the last one it shows, so usage keeps a whole year clear of that end.
USAGE_ENDS_BEFORE_UTC = datetime(9999, 1, 1, tzinfo=UTC)
# Control characters (C0, DEL, C1) and lone surrogates: invisible, they break terminals and
# CSV cells, PostgreSQL cannot store NUL, and a surrogate is not encodable text at all.
_FORBIDDEN_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

Principal = NewType("Principal", str)
"""A service account: the authenticated principal of a Kafka connection."""

TopicName = NewType("TopicName", str)
ClusterName = NewType("ClusterName", str)


class Direction(StrEnum):
    """Which way the bytes went, seen from the cluster."""

    INGRESS = "ingress"  # produced: bytes the broker accepted
    EGRESS = "egress"  # consumed: bytes delivered to clients


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """Bytes one service account moved to or from one topic in one window.

    `window_start_utc` is an aware UTC datetime on a WINDOW_SECONDS boundary.
    """

    cluster: ClusterName
    service_account: Principal
    topic: TopicName
    direction: Direction
    window_start_utc: datetime
    bytes: int


def name_fault(value: object) -> str | None:
    """Why `value` cannot be a cluster, service account or topic name; None if it can.

    A name is a non-empty string without control characters (U+0000 to U+001F, U+007F to
    U+009F) and without lone surrogates; every other character, spaces included, is kept.

    >>> name_fault("team-a"), name_fault("")
    (None, 'is not a non-empty string')
    >>> name_fault("nul\\x00x")
    'holds the control character U+0000'
    """
    if not isinstance(value, str) or not value:
        return "is not a non-empty string"
    forbidden = _FORBIDDEN_IN_NAMES.search(value)
    if forbidden is None:
        return None
    character = forbidden.group()
    kind = "lone surrogate" if "\ud800" <= character <= "\udfff" else "control character"
    return f"holds the {kind} U+{ord(character):04X}"


def window_start(instant: datetime) -> datetime:
    """Return the start (UTC) of the metering window that holds `instant`.

    Raises:
        ValueError: `instant` is naive (has no time zone).

    >>> window_start(datetime(2026, 3, 1, 10, 44, 59, tzinfo=UTC)).isoformat()
    '2026-03-01T10:30:00+00:00'
    """
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no time zone")
    seconds = int(instant.timestamp())
    return datetime.fromtimestamp(seconds - seconds % WINDOW_SECONDS, tz=UTC)


class UsageRefusedError(ChargebackError):
    """A sink refused records for good: writing the same records again can never succeed.

    Nothing of the batch was written, so its batch id is still unused. `refused` maps the
    index in the batch (from 0) of each refused record to the reason it was refused.
    """

    def __init__(self, message: str, refused: Mapping[int, str]) -> None:
        super().__init__(message)
        self.refused = dict(refused)


class UsageSink(Protocol):
    """Where metered usage goes. Writing the same batch id twice must change nothing.

    Implementations may block (a database write); async callers run them in a thread.
    """

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> bool | None:
        """Store `records` atomically under `batch_id`; a batch id already stored is a no-op.

        May answer whether the batch was new (the store does: False for a batch id it had).

        Raises:
            UsageRefusedError: some records are invalid (naming them); nothing was written.
            Exception: anything else is a failure that may pass (the sink is unreachable):
                retry the same batch id with the same records.
        """
        ...
