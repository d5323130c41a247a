"""The README's command-line examples work as written, in a fresh clone's top folder."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.cli.conftest import Invoke

ROOT = Path(__file__).parents[2]
ACTIVATE = ". .venv/bin/activate"


def _readme_cli_commands() -> list[str]:
    """The lines of the first `sh` block of the README's "Command line" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the Command line section has no sh block"
    return [re.sub(r"\s+#.*$", "", line) for line in block.group(1).splitlines()]


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the clone's example files, as the current directory."""
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_cli_examples_run_as_written(invoke: Invoke, clone: Path) -> None:
    # Given the README's commands, the first of which puts chargeback on PATH
    commands = _readme_cli_commands()
    assert commands[0] == ACTIVATE

    # When each one runs in the clone's top folder on the default store
    results = {}
    for command in commands[1:]:
        program, *args = shlex.split(command)
        assert program == "chargeback", command
        results[command] = invoke(*args, db=None)

    # Then every one succeeds, the reports show the example's accounts, the export is written
    failed = {c: r.output for c, r in results.items() if r.exit_code != 0}
    assert failed == {}
    reports = [r.stdout for c, r in results.items() if c.startswith("chargeback report")]
    assert len(reports) == 3
    assert all("payments" in out or "analytics" in out for out in reports)
    export = next(r for c, r in results.items() if c.startswith("chargeback export"))
    written = Path(export.stdout.strip())
    assert written.parent == Path("reports")
    assert (clone / written).read_bytes().startswith(b"Service account,2026-01,2026-02,2026-03")


def test_what_the_readme_examples_write_into_the_clone_is_ignored_by_git(
    invoke: Invoke, clone: Path, isolated_env: Path
) -> None:
    # Given the README's commands run in the clone's top folder
    for command in _readme_cli_commands()[1:]:
        invoke(*shlex.split(command)[1:], db=None)

    # When the files they wrote there (not the store, which is in the user's data directory)
    # are shown to git with the project's .gitignore
    given = {clone / "docs" / "examples" / "usage.csv"}
    written = [
        str(path.relative_to(clone))
        for path in clone.rglob("*")
        if path.is_file() and path not in given and isolated_env not in path.parents
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        input="\n".join(written),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    # Then git ignores every one of them: `git status` in the clone stays clean
    assert written, "the README's export writes a file"
    assert sorted(ignored.stdout.split()) == sorted(written), ignored.stderr
