"""The usage record, its key types, the metering window and the sink protocol."""

from __future__ import annotations

import re
import unicodedata
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
# What a name may not hold, by Unicode general category. Control characters (Cc: C0, DEL, C1)
# break terminals and CSV cells, and PostgreSQL cannot store NUL; a lone surrogate (Cs) is not
# encodable text. Format characters (Cf) are invisible or reorder the text around them: with
# U+202E (right-to-left override) "\u202eevil" shows as "live", and a zero-width space makes
# two names that look the same; line and paragraph separators (Zl, Zp) break lines.
# Private-use (Co) and unassigned (Cn) characters are kept: they are visible (as a glyph or a
# box), and a character unassigned in this Python's Unicode may be a new emoji in the next.
_FORBIDDEN_CATEGORIES = {
    "Cc": "control character",
    "Cs": "lone surrogate",
    "Cf": "format character",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}
# Printable ASCII, a space included: most names, and none of it is refused.
_PRINTABLE_ASCII = re.compile("[\x20-\x7e]*")

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
    U+009F), lone surrogates, format characters (Unicode category Cf: bidirectional controls,
    zero-width characters, the byte-order mark, ...), line or paragraph separators (U+2028,
    U+2029) and noncharacters (U+FDD0 to U+FDEF, U+xFFFE, U+xFFFF). Every other character,
    spaces included, is kept as it is.

    >>> name_fault("team-a"), name_fault("équipe ü"), name_fault("")
    (None, None, 'is not a non-empty string')
    >>> name_fault("nul\\x00x")
    'holds the control character U+0000'
    >>> name_fault("\\u202eevil")
    'holds the format character U+202E (RIGHT-TO-LEFT OVERRIDE)'
    """
    if not isinstance(value, str) or not value:
        return "is not a non-empty string"
    if _PRINTABLE_ASCII.fullmatch(value):
        return None
    for character in value:
        kind = _FORBIDDEN_CATEGORIES.get(unicodedata.category(character))
        if kind is None and _is_noncharacter(character):
            kind = "noncharacter"
        if kind is not None:
            described = f"U+{ord(character):04X}"
            if character_name := unicodedata.name(character, ""):
                described += f" ({character_name})"
            return f"holds the {kind} {described}"
    return None


def _is_noncharacter(character: str) -> bool:
    """U+FDD0 to U+FDEF, and the last two code points of each plane (U+xFFFE, U+xFFFF).

    Unicode keeps them unassigned for good, for a program's internal use, never interchange.
    """
    code_point = ord(character)
    return 0xFDD0 <= code_point <= 0xFDEF or code_point & 0xFFFE == 0xFFFE


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
