"""`python -m bench [NAME] [OPTIONS]`: run one benchmark by name, or every one in turn.

`make bench ARGS="reports --rows 200000"` passes ARGS here. To add a benchmark, add a module
with `main(argv: list[str]) -> int` and one line to BENCHMARKS.
"""

from __future__ import annotations

import importlib
import sys

# name -> module (under bench/) whose main(argv) runs it
BENCHMARKS = {
    "reports": "bench.reports",
    "gateway": "bench.gateway",
}


def main(argv: list[str]) -> int:
    """Dispatch to the named benchmark; with no name (or only options), run them all."""
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        print(__doc__)
        print("benchmarks: " + ", ".join(BENCHMARKS))
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        return _run(name, rest)
    status = 0
    for name in BENCHMARKS:
        status = max(status, _run(name, argv))
    return status


def _run(name: str, argv: list[str]) -> int:
    module = importlib.import_module(BENCHMARKS[name])
    result: int = module.main(argv)
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
