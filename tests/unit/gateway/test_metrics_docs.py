"""Every gateway metric is in the metrics table of docs/gateway.md, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

from chargeback.gateway.metrics import GatewayMetrics

DOCS = Path(__file__).parents[3] / "docs" / "gateway.md"
PREFIX = "chargeback_gateway_"


def _documented_names() -> set[str]:
    """Metric names (without labels) in the first column of the docs' metrics table."""
    section = DOCS.read_text(encoding="utf-8").split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)(?:\{[^}]*\})?` \|", section, flags=re.MULTILINE))


def test_every_metric_is_documented_and_every_documented_metric_exists() -> None:
    # Given the metrics a gateway exports, as Prometheus names them
    exported = set()
    for family in GatewayMetrics().registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        exported.add(family.name.removeprefix(PREFIX) + suffix)
    # When the docs' table is read
    documented = _documented_names()
    # Then they are the same
    assert documented == exported
