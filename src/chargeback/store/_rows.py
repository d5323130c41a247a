"""What the store hands back: usage totals, console users, API tokens, gateway users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from chargeback.usage import Direction


class UsageTotal(NamedTuple):
    """Bytes one service account moved in one direction within one local day or month.

    `bucket_start` is the local day, or the first day of the local month. A named tuple, not a
    dataclass: a 30-day report of thousands of accounts builds ~10**5 of them per request.
    """

    service_account: str
    direction: Direction
    bucket_start: date
    bytes: int


@dataclass(frozen=True, slots=True)
class UserRow:
    """A console user; `password_hash` is whatever the console's hasher produced."""

    name: str
    password_hash: str
    role: str
    created_at_utc: datetime


@dataclass(frozen=True, slots=True)
class ApiTokenRow:
    """A named API token of a console user; only its hash is stored."""

    name: str
    token_hash: str
    user_name: str
    created_at_utc: datetime


@dataclass(frozen=True, slots=True)
class GatewayUserRow:
    """Salted SCRAM material of one gateway SASL user for one mechanism (never a password).

    `mechanism` is "SCRAM-SHA-256" or "SCRAM-SHA-512".
    """

    name: str
    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What `Store.import_usage_file` did: the batch id, rows read, and whether it was new."""

    batch_id: str
    records_read: int
    is_new: bool
