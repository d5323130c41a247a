"""The flush thread: moves counted usage to the UsageSink every interval, and once at shutdown.

Exactly-once towards the store rests on batch ids: a drained batch gets a uuid and is kept until
the sink accepted it; a failed write is retried with the same id and the same records (the sink
ignores an id it already stored, so a write that succeeded but looked failed counts once).
Usage counted meanwhile stays in `UsageCounts` and goes into the next batch.

A sink that refuses records for good (`UsageRefusedError`: the store's validation) wrote nothing
of the batch; those records are quarantined (logged with every field, counted in a metric) and
the rest is written at once, so one bad record never holds back the usage counted after it.

At shutdown the final flush runs in a thread of its own that is waited for a bounded time: a
sink call that never returns (a table locked in the store) cannot keep the gateway alive.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.usage import UsageRecord, UsageRefusedError, UsageSink

log = logging.getLogger(__name__)

# At shutdown: up to 5 attempts a second apart, and 15 s in all. With the drain timeout's
# default of 10 s, a stop stays below Kubernetes' default grace period of 30 s.
FINAL_FLUSH_ATTEMPTS = 5
FINAL_FLUSH_RETRY_DELAY_SECONDS = 1.0
FINAL_FLUSH_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class PendingBatch:
    """A batch drained from the counts and not yet accepted by the sink."""

    batch_id: str
    records: Sequence[UsageRecord]


class Flusher:
    """Writes usage batches to `sink` from a thread of its own.

    `monotonic` is the clock of the flush lag (tests pass their own).
    """

    def __init__(
        self,
        counts: UsageCounts,
        sink: UsageSink,
        metrics: GatewayMetrics,
        interval_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counts = counts
        self._sink = sink
        self._metrics = metrics
        self._interval_seconds = interval_seconds
        self._monotonic = monotonic
        self._pending: PendingBatch | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_success_monotonic = monotonic()
        self._flush_lock = threading.Lock()
        # Computed when scraped, so that they stay true if the flush thread hangs or dies.
        metrics.flush_lag.set_function(self._seconds_since_last_success)
        metrics.unflushed_bytes.set_function(self._unflushed_bytes)

    def start(self) -> None:
        """Start flushing every interval."""
        self._thread = threading.Thread(target=self._run, name="chargeback-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_seconds):
            self.flush()

    def flush(self, *, everything: bool = False) -> bool:
        """Write the pending batch (or a new one); return whether nothing is left pending."""
        with self._flush_lock:
            if self._pending is None:
                records = self._counts.drain(everything=everything)
                if records:
                    self._pending = PendingBatch(str(uuid.uuid4()), records)
            self._write_pending()
            return self._pending is None

    def _write_pending(self) -> None:
        # Each refusal takes at least one record out of the batch, so this loop ends.
        while self._pending is not None:
            batch = self._pending
            try:
                self._sink.write_usage(batch.batch_id, batch.records)
            except UsageRefusedError as refusal:
                self._pending = self._quarantine_refused(batch, refusal)
                continue
            except Exception as error:  # any other failure may pass: keep the batch, retry later
                self._note_failure(batch, error)
                return
            self._pending = None
            self._note_success(batch)

    def _quarantine_refused(
        self, batch: PendingBatch, refusal: UsageRefusedError
    ) -> PendingBatch | None:
        """Set the refused records aside; return the rest under the same batch id, if any.

        The same id is safe: a refused write stored nothing, so the id is still unused.
        """
        refused = {i for i in refusal.refused if 0 <= i < len(batch.records)}
        if not refused:  # a sink that does not say which: none of the batch can be written
            refused = set(range(len(batch.records)))
        for index in sorted(refused):
            reason = refusal.refused.get(index, str(refusal))
            self._quarantine(batch.batch_id, batch.records[index], reason)
        kept = [record for i, record in enumerate(batch.records) if i not in refused]
        return PendingBatch(batch.batch_id, kept) if kept else None

    def _quarantine(self, batch_id: str, record: UsageRecord, reason: str) -> None:
        self._metrics.quarantined_records.inc()
        self._metrics.quarantined_bytes.inc(record.bytes)
        # Every field, so that the record can be corrected and imported as a usage file.
        log.error(
            "event=usage_quarantined batch_id=%s cluster=%r service_account=%r topic=%r "
            "direction=%s window_start_utc=%s bytes=%d reason=%r",
            batch_id,
            record.cluster,
            record.service_account,
            record.topic,
            record.direction,
            record.window_start_utc.isoformat(),
            record.bytes,
            reason,
        )

    def _note_failure(self, batch: PendingBatch, error: Exception) -> None:
        self._metrics.flush_failures.inc()
        log.warning(
            "event=flush_failed batch_id=%s records=%d error=%r",
            batch.batch_id,
            len(batch.records),
            str(error),
        )

    def _note_success(self, batch: PendingBatch) -> None:
        self._last_success_monotonic = self._monotonic()
        self._metrics.flushes.inc()
        self._metrics.last_flush_timestamp.set(time.time())
        log.info("event=flushed batch_id=%s records=%d", batch.batch_id, len(batch.records))

    def _seconds_since_last_success(self) -> float:
        return self._monotonic() - self._last_success_monotonic

    def _unflushed_bytes(self) -> float:
        pending = self._pending  # read once: the flush thread may replace it meanwhile
        pending_bytes = sum(r.bytes for r in pending.records) if pending else 0
        return pending_bytes + self._counts.pending_bytes()

    def stop(
        self,
        *,
        attempts: int = FINAL_FLUSH_ATTEMPTS,
        retry_delay_seconds: float = FINAL_FLUSH_RETRY_DELAY_SECONDS,
        timeout_seconds: float = FINAL_FLUSH_TIMEOUT_SECONDS,
    ) -> bool:
        """Stop the thread, then flush everything; return whether all usage reached the sink.

        Usage that still cannot be written after `attempts` tries, or after `timeout_seconds`
        in all (a sink call that hangs, on a locked table say, is abandoned), is logged with
        its batch id and byte totals: the only case where usage is lost, the store failing at
        shutdown.
        """
        self._stop.set()
        outcome: list[bool] = []
        final = threading.Thread(
            target=lambda: outcome.append(self._flush_at_stop(attempts, retry_delay_seconds)),
            name="chargeback-final-flush",
            daemon=True,  # one that hangs in the sink must not keep the process alive
        )
        final.start()
        final.join(timeout_seconds)
        if outcome == [True]:
            return True
        if final.is_alive():
            log.error(
                "event=final_flush_abandoned timeout_seconds=%g reason=%r",
                timeout_seconds,
                "a write to the store was still under way when the time was up",
            )
        self._log_lost()
        return False

    def _flush_at_stop(self, attempts: int, retry_delay_seconds: float) -> bool:
        if self._thread is not None:
            self._thread.join()
        for attempt in range(attempts):
            # Twice: the first write may be an older pending batch, the second takes the rest.
            if self.flush(everything=True) and self.flush(everything=True):
                return True
            if attempt + 1 < attempts:
                time.sleep(retry_delay_seconds)
        return False

    def _log_lost(self) -> None:
        pending = self._pending  # read once: an abandoned flush may still replace it
        log.error(
            "event=usage_not_flushed batch_id=%s pending_bytes=%d unbatched_bytes=%d",
            pending.batch_id if pending else "-",
            sum(r.bytes for r in pending.records) if pending else 0,
            self._counts.pending_bytes(),
        )
