"""Charts of where each run's final answer waited, from a results file of `python -m bench`.

    python -m bench.chart bench/results/<stem>.json [--out PNG] [--round N]

One panel per relay of a side-by-side round (scenario 6): a row per run, sorted by when its
turn ended, with the turn as a grey bar, each progress version as a dot, the turn's end as a
black tick and the final version as a diamond; a red line joins the end to the final, so the
wait is what one sees. Under each panel, every edit call of that relay (ok, or 429) on the
same time axis, and the calls accepted in the last 60 s against chat.update's allowance. All
times come from the emulators' own records (`RunMetrics.timeline`, `edit_calls`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

TITLES = {"ours": "our bot", "naive": "naive relay", "chat_stream": "chat_stream"}
WINDOW = 60.0
"""Slack evaluates its per-minute allowances over a minute (see BENCHMARKS.md)."""
ALLOWANCE = 50
"""chat.update (Tier 3): 50 a minute per workspace."""


def side_round(results: dict[str, Any], index: int | None) -> tuple[int, dict[str, Any]]:
    """The side-by-side round to draw: `index`, or the one whose p50 time to final (ours) is
    the median of the rounds."""
    rounds = results["scenarios"]["side_by_side"]["rounds_detail"]
    if index is not None:
        return index, rounds[index]
    order = sorted(range(len(rounds)), key=lambda i: rounds[i]["ours"]["final_p50"] or 0.0)
    pick = order[len(order) // 2]
    return pick, rounds[pick]


def draw_runs(ax: Axes, runs: list[dict[str, Any]], origin: float) -> None:
    timed = [r["timeline"] for r in runs if r.get("timeline", {}).get("ended") is not None]
    timed.sort(key=lambda t: t["ended"])
    for row, line in enumerate(timed):
        started, ended = line["started"] - origin, line["ended"] - origin
        ax.plot([started, ended], [row, row], color="0.85", linewidth=5, solid_capstyle="butt")
        progress = [v[0] - origin for v in line["versions"] if not v[2] and v[1] > 0]
        empty = [v[0] - origin for v in line["versions"] if not v[2] and v[1] == 0]
        ax.plot(progress, [row] * len(progress), "o", color="tab:blue", markersize=3)
        ax.plot(empty, [row] * len(empty), "o", color="tab:blue", markersize=3, fillstyle="none")
        ax.plot([ended], [row], "|", color="black", markersize=11, markeredgewidth=2)
        finals = [v[0] - origin for v in line["versions"] if v[2]]
        if finals:
            ax.plot([ended, finals[0]], [row, row], color="tab:red", linewidth=1.5)
            ax.plot([finals[0]], [row], "D", color="tab:red", markersize=5)
    ax.set_ylim(-1, max(len(timed), 1))
    ax.set_yticks([])
    ax.set_ylabel("runs")


def draw_calls(ax: Axes, calls: list[list[Any]], origin: float) -> None:
    """Edit calls as ticks (ok above, 429 below) and the calls accepted in the last minute,
    against chat.update's allowance when that is the method used."""
    times = sorted(c[0] - origin for c in calls if c[2] != 429)
    limited = [c[0] - origin for c in calls if c[2] == 429]
    ax.plot(times, [1.0] * len(times), "|", color="tab:green", markersize=8)
    ax.plot(limited, [0.0] * len(limited), "x", color="tab:red", markersize=4)
    ax.set_ylim(-0.5, 1.5)
    ax.set_yticks([0.0, 1.0], ["429", "ok"])
    used = ax.twinx()
    steps = [(t, sum(1 for u in times if t - WINDOW < u <= t)) for t in times]
    if steps:
        used.step([s[0] for s in steps], [s[1] for s in steps], where="post", color="tab:purple")
    if all(c[1] == "chat.update" for c in calls):
        used.axhline(ALLOWANCE, color="tab:purple", linestyle=":", linewidth=1)
    used.set_ylim(0, ALLOWANCE * 1.15)
    used.set_ylabel("ok in last 60 s", color="tab:purple", fontsize=8)


def chart(results: dict[str, Any], out: Path, index: int | None = None) -> Path:
    number, detail = side_round(results, index)
    relays = [name for name in ("ours", "naive", "chat_stream") if name in detail]
    lines = [
        r["timeline"]
        for name in relays
        for r in detail[name]["per_run"]
        if r.get("timeline", {}).get("started") is not None
    ]
    if not lines:
        raise ValueError("this results file has no per-run timelines (measured before them)")
    origin = min(line["started"] for line in lines)
    figure, axes = plt.subplots(
        len(relays) * 2,
        1,
        figsize=(10, 3.2 * len(relays)),
        sharex=True,
        gridspec_kw={"height_ratios": [4, 1] * len(relays)},
    )
    for slot, name in enumerate(relays):
        summary = detail[name]
        runs_ax, calls_ax = axes[slot * 2], axes[slot * 2 + 1]
        draw_runs(runs_ax, summary["per_run"], origin)
        draw_calls(calls_ax, summary.get("edit_calls", []), origin)
        runs_ax.set_title(
            f"{TITLES.get(name, name)}: time to final p50 {summary['final_p50']} s, "
            f"p95 {summary['final_p95']} s; {summary['429']} × 429",
            fontsize=10,
            loc="left",
        )
    axes[-1].set_xlabel("seconds since the first turn started")
    started = results.get("started", "")
    figure.suptitle(f"Side by side, round {number + 1}, {started}", fontsize=11)
    figure.text(
        0.01,
        0.005,
        "grey: turn · dot: progress edit (hollow: no answer text yet) · black tick: turn ended"
        " · red: wait until the final edit (diamond)",
        fontsize=8,
    )
    figure.tight_layout(rect=(0, 0.02, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chart", description=__doc__.split("\n")[0]
    )
    parser.add_argument("results", type=Path, help="a results .json of `python -m bench`")
    parser.add_argument("--out", type=Path, help="the PNG to write (default: next to results)")
    parser.add_argument("--round", type=int, help="which side-by-side round (0-based)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    results = json.loads(args.results.read_text())
    out = args.out or args.results.with_name(args.results.stem + "-side.png")
    print(chart(results, out, args.round))
    return 0


if __name__ == "__main__":
    sys.exit(main())
