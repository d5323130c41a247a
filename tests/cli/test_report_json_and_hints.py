"""`chargeback report --format json` is the REST API's document; an empty report says why."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from tests.cli.conftest import Invoke

from chargeback.console import ConsoleSettings, create_app, hash_api_token
from chargeback.store import open_store

TOKEN = "cbt_cli-parity-token"
# Twelve accounts, more than the chart's eight series, so the API folds some into "Other".
ACCOUNTS = [f"team-{n:02d}" for n in range(12)]


def _usage_file(tmp_path: Path) -> Path:
    path = tmp_path / "usage.csv"
    lines = ["timestamp,cluster,service_account,topic,direction,bytes"]
    for n, account in enumerate(ACCOUNTS):
        day = 1 + n % 9
        lines.append(f"2026-03-0{day}T10:00:00Z,east,{account},orders,egress,{(n + 1) * 10**9}")
        lines.append(f"2026-03-09T23:30:00Z,west,{account},clicks,ingress,{7 * 10**8}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _api_document(db_url: str, params: dict[str, str]) -> object:
    store = open_store(db_url)
    try:
        store.add_user("ada", "not-a-password-hash", "admin")
        store.add_api_token("parity", hash_api_token(TOKEN), "ada")
        transport = httpx.ASGITransport(app=create_app(store, ConsoleSettings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            answer = await http.get(
                "/api/v1/chargeback", params=params, headers={"Authorization": f"Bearer {TOKEN}"}
            )
    finally:
        store.close()
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_report_json_is_the_same_document_as_the_api_returns(
    invoke: Invoke, db_url: str, tmp_path: Path
) -> None:
    # Given usage of twelve accounts and prices, through the CLI
    invoke("usage", "import", str(_usage_file(tmp_path)))
    invoke("pricing", "set", "--ingress-per-gb", "0.12", "--egress-per-gb", "0.0375")

    # When the CLI and the API are asked for the same view (sorted otherwise than the chart)
    printed = invoke(
        "report", "--tab", "overall", "--period", "30D", "--as-of", "2026-03-10",
        "--tz", "Asia/Kathmandu", "--sort", "service_account", "--format", "json",
    )  # fmt: skip
    served = await _api_document(
        db_url,
        {"tab": "overall", "period": "30D", "asOf": "2026-03-10", "tz": "Asia/Kathmandu"}
        | {"sort": "service_account"},
    )

    # Then both give one document, chart series and "Other" included
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.stdout)
    assert document == served
    assert document["query"]["sort"] == "service_account:asc"
    assert [series["name"] for series in document["chart"]][-1] == "Other"
    assert document["prices"] == {
        "ingress_per_gb": "0.12",
        "egress_per_gb": "0.0375",
        "currency": "USD",
        "gb_unit": "decimal",
        "bytes_per_gb": 10**9,
    }


def test_an_empty_report_names_the_store_and_the_days_on_stderr(
    invoke: Invoke, db_url: str
) -> None:
    # Given an empty store
    # When its CSV is printed
    result = invoke(
        "report", "--period", "7D", "--as-of", "2026-03-10", "--cluster", "east",
        "--format", "csv",
    )  # fmt: skip

    # Then stdout is the bare CSV header and stderr one line naming store, cluster and days
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Service account,2026-03-04,")
    assert result.stderr == (
        f"note: no usage of cluster 'east' from 2026-03-04 to 2026-03-10 (UTC) in the store "
        f"{db_url}\n"
    )


def test_an_empty_report_points_at_the_demos_store_when_there_is_one(
    invoke: Invoke, isolated_env: Path
) -> None:
    # Given the demo has run (its store exists) but the default store is empty
    demo_store = isolated_env / "kafka-chargeback" / "demo" / "chargeback.db"
    open_store(f"sqlite:///{demo_store}").close()

    # When the report of the default store is printed
    result = invoke("report", "--as-of", "2026-03-10", db=None)

    # Then the note says how to read the demo's store instead
    assert result.exit_code == 0, result.output
    assert "note: no usage from 2026-02-09 to 2026-03-10 (UTC) in the store sqlite:///" in (
        result.stderr
    )
    assert f"chargeback --db sqlite:///{demo_store} ..." in result.stderr


def test_a_report_with_rows_prints_no_note(invoke: Invoke, tmp_path: Path) -> None:
    # Given usage on 9 March
    invoke("usage", "import", str(_usage_file(tmp_path)))

    # When
    result = invoke("report", "--as-of", "2026-03-10", "--format", "json")

    # Then
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
