"""The flush thread: moves counted usage to the UsageSink every interval, and once at shutdown.

Exactly-once towards the store rests on batch ids: a drained batch gets a uuid and is kept until
the sink accepted it; a failed write is retried with the same id and the same records (the sink
ignores an id it already stored, so a write that succeeded but looked failed counts once).
Usage counted meanwhile stays in `UsageCounts` and goes into the next batch.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.usage import UsageRecord, UsageSink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingBatch:
    """A batch drained from the counts and not yet accepted by the sink."""

    batch_id: str
    records: Sequence[UsageRecord]


class Flusher:
    """Writes usage batches to `sink` from a thread of its own."""

    def __init__(
        self,
        counts: UsageCounts,
        sink: UsageSink,
        metrics: GatewayMetrics,
        interval_seconds: float,
    ) -> None:
        self._counts = counts
        self._sink = sink
        self._metrics = metrics
        self._interval_seconds = interval_seconds
        self._pending: PendingBatch | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_success_monotonic = time.monotonic()
        self._flush_lock = threading.Lock()

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
            if self._pending is not None:
                self._write(self._pending)
            self._update_gauges()
            return self._pending is None

    def _write(self, batch: PendingBatch) -> None:
        try:
            self._sink.write_usage(batch.batch_id, batch.records)
        except Exception as error:  # any sink failure means: keep the batch, retry later
            self._metrics.flush_failures.inc()
            log.warning(
                "event=flush_failed batch_id=%s records=%d error=%r",
                batch.batch_id,
                len(batch.records),
                str(error),
            )
            return
        self._pending = None
        self._last_success_monotonic = time.monotonic()
        self._metrics.flushes.inc()
        self._metrics.last_flush_timestamp.set(time.time())
        log.info("event=flushed batch_id=%s records=%d", batch.batch_id, len(batch.records))

    def _update_gauges(self) -> None:
        pending = sum(r.bytes for r in self._pending.records) if self._pending else 0
        self._metrics.unflushed_bytes.set(pending + self._counts.pending_bytes())
        self._metrics.flush_lag.set(time.monotonic() - self._last_success_monotonic)

    def stop(self, *, attempts: int = 5, retry_delay_seconds: float = 1.0) -> bool:
        """Stop the thread, then flush everything; return whether all usage reached the sink.

        Usage that still cannot be written after `attempts` tries is logged with its batch id
        and byte total (the only case where usage is lost: the store is down at shutdown).
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for attempt in range(attempts):
            # Twice: the first write may be an older pending batch, the second takes the rest.
            if self.flush(everything=True) and self.flush(everything=True):
                return True
            if attempt + 1 < attempts:
                time.sleep(retry_delay_seconds)
        self._log_lost()
        return False

    def _log_lost(self) -> None:
        pending = self._pending.records if self._pending else []
        log.error(
            "event=usage_not_flushed batch_id=%s pending_bytes=%d unbatched_bytes=%d",
            self._pending.batch_id if self._pending else "-",
            sum(r.bytes for r in pending),
            self._counts.pending_bytes(),
        )
