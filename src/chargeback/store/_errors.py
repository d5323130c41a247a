"""The store's errors."""

from chargeback.errors import ChargebackError
from chargeback.usage import UsageRefusedError


class StoreError(ChargebackError):
    """The store refused a value, or the database could not be opened or written."""


class CountOverflowError(StoreError):
    """A write would take a count (a window, a local day or month) past MAX_BYTES.

    Nothing of the write was stored. Raised where the sums are made, which do not know the
    records; `Store.write_usage` then finds which records to refuse.
    """


class RecordsRefusedError(StoreError, UsageRefusedError):
    """Records of a usage batch are invalid; nothing of the batch was written.

    A `UsageRefusedError` too, so that a sink's caller (the gateway) knows that retrying the
    same records cannot help, without importing the store.
    """


class RecordError(StoreError):
    """One record of a write was refused, so nothing of the write was stored.

    `record_number` counts the write's records from 1; `reason` is the message without the
    "where" in front, for callers that name the record another way (a file's line).
    """

    def __init__(self, where: str, record_number: int, reason: str) -> None:
        super().__init__(f"{where}, record {record_number}: {reason}")
        self.record_number = record_number
        self.reason = reason


class ZoneLimitError(StoreError):
    """A report asked for a time zone whose rollups are not built, and the store keeps rollups
    for as many zones as it may (`max_report_zones`). Nothing was built.
    """

    def __init__(self, zone: str, built_zones: list[str], max_report_zones: int) -> None:
        super().__init__(
            f"time zone {zone!r} has no rollups yet, and the store already keeps those of "
            f"{len(built_zones)} zones, as many as the setting max_report_zones "
            f"({max_report_zones}) allows: report in one of {', '.join(built_zones)}, or ask "
            "an operator to raise max_report_zones"
        )
        self.zone = zone
        self.built_zones = built_zones
