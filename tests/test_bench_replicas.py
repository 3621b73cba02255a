"""The replicas benchmark works end to end (issue 15): `python -m bench --quick --only replicas`
runs scenario 5's load on one bot on SQLite, then on one and on three bots sharing a throwaway
PostgreSQL database behind the round-robin balancer, and writes what each variant measured.
This checks the harness (every number is there and of the right kind), not the values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ["SQLite, 1 replica", "PostgreSQL, 1 replica", "PostgreSQL, 3 replicas"]


def number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@pytest.mark.timeout(240)
def test_quick_replicas_benchmark_runs_every_variant_and_writes_results(tmp_path: Path) -> None:
    out, work = str(tmp_path / "out"), str(tmp_path / "work")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "replicas",
            "--out",
            out,
            "--work",
            work,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    [result_file] = (tmp_path / "out").glob("*-quick.json")
    scenario = json.loads(result_file.read_text())["scenarios"]["replicas"]
    assert "error" not in scenario, scenario.get("error")
    variants = scenario["variants"]
    assert list(variants) == VARIANTS

    for name, load in variants.items():
        assert load["correct"] == load["runs"] and load["acked"] == load["runs"], name
        assert load["workspaces"] > 1 and len(load["slack_by_workspace"]) == load["workspaces"]
        for team in load["slack_by_workspace"].values():
            assert isinstance(team["429"], int) and number(team["per_run"])
        assert number(load["slack"]["per_run"]) and load["slack"]["by_method"]
        for replica in load["replicas"]:
            assert number(replica["end"]["peak_rss_mb"]) and number(replica["end"]["cpu_s"])

    assert variants["SQLite, 1 replica"]["engine"] == "sqlite"
    assert variants["SQLite, 1 replica"]["database"] is None
    for name in VARIANTS[1:]:
        database = variants[name]["database"]
        assert variants[name]["engine"] == "postgresql"
        assert database["statements"] > 0 and database["evicted"] == 0, database
        assert database["top"] and all(entry["calls"] > 0 for entry in database["top"])
        assert number(database["server_cpu_s"])

    three = variants["PostgreSQL, 3 replicas"]["replicas"]
    assert len(three) == 3
    sent = [replica["requests"] for replica in three]
    assert min(sent) > 0 and max(sent) - min(sent) <= 1  # round robin: every replica served
    assert variants["PostgreSQL, 1 replica"]["replicas"][0]["requests"] is None  # no balancer

    rows = scenario["rows"]
    metrics = {(row["scenario"], row["metric"]) for row in rows}
    for name in VARIANTS:
        assert (f"5. Scale, replicas: {name}", "database round trips per run") in metrics
    assert any(row["metric"] == "Slack calls per run, ratio to 1 replica" for row in rows)
    assert "| 5. Scale, replicas: PostgreSQL, 3 replicas |" in done.stdout
