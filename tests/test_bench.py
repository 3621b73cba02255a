"""The benchmark harness works end to end: `python -m bench --quick` runs every scenario against
real processes and writes its results. This checks the harness, not the numbers' values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.measure import Turn, Version, peak_overlap, percentile, run_metrics

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "ack_latency",
    "batches",
    "first_text",
    "time_to_final",
    "efficiency",
    "bot_cpu",
    "side_by_side",
    "scale",
    "followups",
}


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@pytest.mark.timeout(180)
def test_quick_benchmark_runs_every_scenario_and_writes_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--chart", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    [result_file] = (tmp_path / "out").glob("*-quick.json")
    assert result_file.with_suffix(".md").exists()
    chart = result_file.with_name(result_file.stem + "-side.png")
    assert chart.read_bytes().startswith(b"\x89PNG")  # the edit timelines, drawn
    results = json.loads(result_file.read_text())
    assert results["quick"] is True
    assert number(results["machine"]["nproc"]) and results["machine"]["python"]
    scenarios = results["scenarios"]
    assert set(scenarios) == SCENARIOS
    for name, scenario in scenarios.items():
        assert "error" not in scenario, (name, scenario.get("error"))
    rows = [row for scenario in scenarios.values() for row in scenario["rows"]]
    assert {row["scenario"][:2] for row in rows} == {"1.", "2.", "3.", "4.", "5.", "6.", "7."}
    for row in rows:
        assert row["value"] is not None, row
        assert number(row["value"]) or isinstance(row["value"], str), row
        assert row["met"] in (True, False, None)

    acks = scenarios["ack_latency"]
    assert number(acks["probes_ms"]["p99"]) and acks["not_acked"] == 0
    for key in ("first_text", "time_to_final"):
        for stat in scenarios[key]["p95"].values():
            assert number(stat["pooled"])
    [batch] = scenarios["batches"]["batches"]["50"]
    assert number(batch["slack"]["per_run"]) and isinstance(batch["slack"]["429"], int)
    assert number(batch["handinger"]["per_run"])
    assert all(run["delivered"] and run["correct"] for run in batch["runs"])
    assert all(number(run["staleness_s"]) for run in batch["runs"])
    side = scenarios["side_by_side"]["medians"]
    assert set(side) == {"ours", "naive", "chat_stream"}
    for relay in side.values():
        assert number(relay["slack_calls_per_run"]) and number(relay["final_p50"])
    load = scenarios["scale"]["target_load"]
    assert number(load["bot_end"]["peak_rss_mb"]) and number(load["bot_end"]["cpu_s"])
    assert load["correct"] == load["runs"] and number(load["peak_turns"])
    assert load["workspaces"] > 1 and len(load["slack_by_workspace"]) == load["workspaces"]
    assert "| Scenario |" in done.stdout


def test_run_metrics_from_a_hand_made_timeline() -> None:
    # as the Handinger emulator measured it: 4 deltas emitted at 111…114, the turn ends at 119
    times = {"started_at": 100.0, "ended_at": 119.0, "deltas": [111, 112, 113, 114]}
    turn = Turn.measured("0001", "w1", "abcd", {**times, "chars": [1, 2, 3, 4]})
    assert turn.emitted(1) == 111.0 and turn.ended == 119.0
    assert turn.prefixes() == ["", "a", "ab", "abc", "abcd"]
    versions = [
        Version(100.5, 0, False),  # the card, no text yet
        Version(111.4, 1, False),
        Version(114.5, 3, False),
        Version(119.8, 4, True),
    ]
    metrics = run_metrics(turn, versions, correct=True)
    assert metrics.first_text_s == pytest.approx(0.4)
    assert metrics.final_s == pytest.approx(0.8)
    assert metrics.complete_s == pytest.approx(0.8)
    assert metrics.staleness_s == pytest.approx(5.8)  # delta 4, emitted at 114, shown at 119.8
    assert metrics.delivered and metrics.correct
    assert metrics.timeline["ended"] == 119.0 and metrics.timeline["first_delta"] == 111.0
    assert metrics.timeline["versions"][-1] == [119.8, 4, True]  # what the chart draws
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([], 50) is None


def test_peak_overlap_of_measured_turns() -> None:
    def turn(started: float, ended: float | None) -> Turn:
        return Turn("t", "w", started, ended, "", (), ())

    assert peak_overlap([turn(0, 10), turn(5, 6), turn(6, 20), turn(11, None)]) == 2
    assert peak_overlap([turn(0, 10), turn(1, None), turn(2, 3)]) == 3


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", [[], ["--streamed"]], ids=["edited", "streamed"])
def test_the_live_text_microbenchmark_streams_an_answer_and_reports_its_cost(
    mode: list[str],
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.livetext", "--chars", "40000", *mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    result = json.loads(done.stdout)
    assert result["events"] == 5000 and result["streamed"] == bool(mode)
    assert number(result["loop_held_s"]) and number(result["longest_hold_ms"])
    assert result["slack_calls"]["chat.postMessage"] >= 1  # the run's message
