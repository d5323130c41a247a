"""CLI fixtures: an invoker with a clean environment and a store URL of the test's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chargeback.cli import app

Invoke = Callable[..., Result]


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CHARGEBACK_* variables from outside; the user's data directory under tmp_path."""
    for name in ("CHARGEBACK_DB", "CHARGEBACK_TIMEZONE", "CHARGEBACK_MAX_REPORT_ZONES"):
        monkeypatch.delenv(name, raising=False)
    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    return data_home


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def invoke(isolated_env: Path, db_url: str) -> Invoke:
    """Run `chargeback --db <test db> ARGS...` in-process."""
    del isolated_env  # requested for its effect on the environment

    def run(*args: str, db: str | None = db_url) -> Result:
        prefix = ["--db", db] if db is not None else []
        return CliRunner().invoke(app, [*prefix, *args])

    return run
