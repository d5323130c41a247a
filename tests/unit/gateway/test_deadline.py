"""The frame deadline against a loop whose clock the test moves (no real time passes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from chargeback.gateway.deadline import FrameDeadline

Steps = list[tuple[float, str]]


class FakeClock:
    """The time of one event loop, moved only by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def loop_and_clock() -> Iterator[tuple[asyncio.AbstractEventLoop, FakeClock]]:
    loop = asyncio.new_event_loop()
    clock = FakeClock()
    loop.time = clock.time  # type: ignore[method-assign]
    yield loop, clock
    loop.close()


def _run(
    loop: asyncio.AbstractEventLoop, scenario: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    loop.run_until_complete(scenario())


async def _play(clock: FakeClock, deadline: FrameDeadline, steps: Steps) -> None:
    """At each (time, action), move the clock, let due timers run, then begin or end a frame."""
    for at, action in steps:
        clock.now = at
        for _ in range(3):  # due timers run, and a cancellation reaches its task
            await asyncio.sleep(0)
        if action == "begin":
            deadline.begin()
        elif action == "end":
            deadline.end()


def _outcome(loop: asyncio.AbstractEventLoop, clock: FakeClock, steps: Steps) -> tuple[bool, bool]:
    """Play `steps` with a 10 s deadline; return (reader cancelled, deadline expired)."""
    result: dict[str, bool] = {}

    async def scenario() -> None:
        deadline = FrameDeadline(10.0)
        reader = asyncio.get_running_loop().create_task(asyncio.Event().wait())
        deadline.watch(reader)
        await _play(clock, deadline, steps)
        result["cancelled"], result["expired"] = reader.cancelled(), deadline.expired
        deadline.stop()
        reader.cancel()

    _run(loop, scenario)
    return result["cancelled"], result["expired"]


def test_frames_each_within_the_deadline_are_never_cut_however_long_the_connection_lives(
    loop_and_clock: tuple[asyncio.AbstractEventLoop, FakeClock],
) -> None:
    # Given: a 4 s frame; a 9 s frame in progress at the check at 20 s; idle for 30 s; a 9.9 s
    # frame (the clock stops at every time a check is due)
    steps: Steps = [(5, "begin"), (9, "end"), (10, "idle"), (12, "begin"), (20, "idle")]
    steps += [(21, "end"), (22, "idle"), (32, "idle"), (51, "begin"), (60.9, "end"), (75, "idle")]
    # When
    cancelled, expired = _outcome(*loop_and_clock, steps)
    # Then
    assert (cancelled, expired) == (False, False)


def test_a_frame_not_complete_at_its_deadline_cancels_the_reader(
    loop_and_clock: tuple[asyncio.AbstractEventLoop, FakeClock],
) -> None:
    # Given: a frame that began at 12 s, still going at the check at 20 s and at 22 s
    steps: Steps = [(10, "idle"), (12, "begin"), (20, "idle"), (22, "idle")]
    # When
    cancelled, expired = _outcome(*loop_and_clock, steps)
    # Then
    assert (cancelled, expired) == (True, True)


def test_a_frame_one_moment_before_its_deadline_is_not_cut(
    loop_and_clock: tuple[asyncio.AbstractEventLoop, FakeClock],
) -> None:
    # Given: the same frame, looked at just before its deadline
    steps: Steps = [(10, "idle"), (12, "begin"), (20, "idle"), (21.9, "idle")]
    # When
    cancelled, expired = _outcome(*loop_and_clock, steps)
    # Then
    assert (cancelled, expired) == (False, False)
