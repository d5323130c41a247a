"""The frame deadline: a request frame, once begun, must be complete within a time limit.

One timer per connection rather than one per frame: `asyncio.timeout` around every frame
costs about 6 us per request (a timer handle made, pushed on the loop's heap, cancelled),
while marking a frame's start and end costs two attribute writes. The timer wakes up when the
oldest possible deadline is due, looks at the frame in progress (if any) and either cancels
the reading task or sets itself for that frame's deadline.
"""

from __future__ import annotations

import asyncio


class FrameDeadline:
    """Cancels the reading task when a frame it reads is not complete `seconds` after it began.

    Call `begin()` at a frame's first byte and `end()` at its last; idle time in between frames
    is not limited. After a cancellation, `expired` tells it apart from any other.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._began_at: float | None = None
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, task: asyncio.Task[None]) -> None:
        """Start watching the frames that `task` reads."""
        self._task = task
        self._timer = self._loop.call_later(self.seconds, self._check)

    def stop(self) -> None:
        """Stop watching (the connection is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._task = None

    def begin(self) -> None:
        """A frame's first byte has arrived."""
        self._began_at = self._loop.time()

    def end(self) -> None:
        """The frame is complete."""
        self._began_at = None

    def _check(self) -> None:
        began_at = self._began_at
        now = self._loop.time()
        if began_at is not None and now >= began_at + self.seconds:
            self.expired = True
            assert self._task is not None
            self._task.cancel()
            self._timer = None
            return
        # No frame began before the last check, so none is due sooner than this.
        due = (now if began_at is None else began_at) + self.seconds
        self._timer = self._loop.call_at(due, self._check)
