"""Slows down password guessing: after a few wrong passwords for one user, that user name is
refused for a few minutes. Kept in memory, per console process.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 300.0


class SignInThrottle:
    """Wrong passwords per existing user name; `MAX_FAILURES` within `window_seconds` lock the
    name until the oldest of them is `window_seconds` old.

    Shared by the login form and HTTP Basic, used from the thread pool that runs routes, hence
    the lock. Only names of existing users are tracked, so memory stays bounded.
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after_seconds(self, user_name: str) -> float:
        """0 if `user_name` may try a password now, else how long until it may."""
        with self._lock:
            failures = self._failures.get(user_name)
            if failures is None or len(failures) < self._max_failures:
                return 0.0
            return max(0.0, failures[0] + self._window_seconds - self._clock())

    def note_failure(self, user_name: str) -> None:
        """Count a wrong password for `user_name` (an existing user)."""
        with self._lock:
            failures = self._failures.setdefault(user_name, deque(maxlen=self._max_failures))
            failures.append(self._clock())

    def note_success(self, user_name: str) -> None:
        """A right password: forget the user's failures."""
        with self._lock:
            self._failures.pop(user_name, None)
