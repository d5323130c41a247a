"""Fixtures of the end-to-end tests: demos started by a test are stopped after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.demo_process import DemoRun, start_demo


@pytest.fixture
def demo_factory(tmp_path: Path) -> Iterator[Callable[..., DemoRun]]:
    """Start demos for one test; whatever is still running at the end is stopped."""
    runs: list[DemoRun] = []

    def start(*options: str, port: int | None = None) -> DemoRun:
        run = start_demo(tmp_path, *options, port=port)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.kill()
