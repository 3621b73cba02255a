"""Scenarios 1–4 of issue 7: ack latency, time to first visible text, time to final, and
efficiency under Slack's limits. Scale (5) is in `scale.py`, side by side (6) in `side.py`.

Every scenario returns `{"rows": [...], ...details}`; a row is one line of the results table:
`{"scenario", "metric", "target", "value", "unit", "met", "note"}` (`met` is None when the issue
sets no target, only asks for the number).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from .batch import Batch, fresh, run_batch, start_runs
from .measure import median, percentile, summary
from .plan import Plan
from .stack import Stack

Row = dict[str, Any]


def row(
    scenario: str,
    metric: str,
    value: float | int | str | None,
    unit: str = "",
    *,
    target: str = "",
    met: bool | None = None,
    note: str = "",
) -> Row:
    return {
        "scenario": scenario,
        "metric": metric,
        "target": target,
        "value": tidy(value),
        "unit": unit,
        "met": met,
        "note": note,
    }


def tidy(value: float | int | str | None) -> float | int | str | None:
    """Round a float for the table: 3 decimals under 1, 2 under 100, 1 above."""
    if not isinstance(value, float):
        return value
    size = abs(value)
    return round(value, 3 if size < 1 else 2 if size < 100 else 1)


def at_most(value: float | int | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


# ---- 1. ack latency ----------------------------------------------------------------------------


async def ack_latency(stack: Stack, plan: Plan) -> dict[str, Any]:
    """Slash-command acks while `ack_streaming` runs stream, then `ack_probes` more, one by one.

    The Slack emulator is time-scaled (`ack_time_scale`) so that 200 cards can be posted within
    seconds instead of hitting chat.postMessage's 300/min workspace limit; acks are real time.
    """
    channels = await fresh(
        stack,
        time_scale=plan.ack_time_scale,
        turn=plan.ack_turn,
        chunks=plan.chunks,
        channels=plan.ack_channels,
        prefix="acks",
    )
    began = time.monotonic()
    ramp = await start_runs(stack, channels, list(range(1, plan.ack_streaming + 1)), 8)
    streaming = await wait_streaming(stack, plan.ack_streaming, plan.ack_turn / 2)
    probes: list[dict[str, Any]] = []
    for index in range(plan.ack_probes):
        tag = plan.ack_streaming + index + 1
        probes.append(await stack.slash(channels[index % len(channels)], probe_text(tag)))
        await asyncio.sleep(0.1)
    still = await running_workers(stack)
    elapsed = time.monotonic() - began
    acks = await stack.acks(type="slash_commands")
    await stack.stop_bot()

    def ms(answers: list[dict[str, Any]]) -> list[float]:
        return [float(a["ack_ms"]) for a in answers if a.get("ack_ms") is not None]

    failed = sum(1 for a in [*ramp, *probes] if not a.get("acked"))
    probe_ms, ramp_ms = ms(probes), ms(ramp)
    probe = summary(probe_ms)
    name = "1. Ack latency"
    streaming_note = f"{streaming}–{still} runs streaming during the probes"
    return {
        "rows": [
            row(
                name,
                f"p99 ack, /handinger while {plan.ack_streaming} runs stream",
                _ms(probe["p99"]),
                "ms",
                target="< 100 ms",
                met=None if probe["p99"] is None else probe["p99"] < 100,
                note=f"p50 {_ms(probe['p50'])} ms, max {_ms(probe['max'])} ms; "
                f"{len(probe_ms)} probes; {streaming_note}",
            ),
            row(
                name,
                f"p99 ack while starting the {plan.ack_streaming} runs",
                _ms(percentile(ramp_ms, 99)),
                "ms",
                note=f"p50 {_ms(percentile(ramp_ms, 50))} ms; 8 commands in flight at a time",
            ),
            row(name, "commands not acked in time", failed, "", target="0", met=failed == 0),
        ],
        "probes_ms": probe,
        "ramp_ms": summary(ramp_ms),
        "streaming_at_probe_start": streaming,
        "streaming_at_probe_end": still,
        "emulator_acks": len(acks),
        "not_acked": failed,
        "wall_s": round(elapsed, 2),
        "slack_time_scale": plan.ack_time_scale,
    }


def probe_text(tag: int) -> str:
    return f"What changed this week? (bench run {tag:04d})"


def _ms(value: float | int | None) -> float | None:
    return None if value is None else round(float(value), 1)


async def running_workers(stack: Stack) -> int:
    return sum(1 for w in await stack.workers() if w.get("status") == "running")


async def wait_streaming(stack: Stack, count: int, within: float, *, falling: bool = False) -> int:
    """Wait until at least (or, with `falling`, at most) `count` workers are running, or
    `within` seconds passed; return how many are running."""
    deadline = time.monotonic() + within
    while True:
        running = await running_workers(stack)
        reached = running <= count if falling else running >= count
        if reached or time.monotonic() > deadline:
            return running
        await asyncio.sleep(0.5)


# ---- 2, 3, 4: batches of concurrent runs -------------------------------------------------------


async def batches(stack: Stack, plan: Plan) -> dict[str, list[Batch]]:
    """The measured batches scenarios 2–4 are computed from: one run at a time, 10 and 50
    concurrent runs (50 × `fifty_turn` s is scenario 4's load), Slack at real time."""
    sets: dict[str, list[Batch]] = {"1": [], "10": [], "50": []}
    shapes = [
        ("1", 1, plan.single_turn, plan.single_reps),
        ("10", plan.ten_runs, plan.ten_turn, plan.ten_reps),
        ("50", plan.fifty_runs, plan.fifty_turn, plan.fifty_reps),
    ]
    for key, runs, turn, reps in shapes:
        for _ in range(reps):
            sets[key].append(
                await run_batch(
                    stack,
                    runs=runs,
                    turn=turn,
                    chunks=plan.chunks,
                    time_scale=1.0,
                    runs_per_channel=plan.runs_per_channel,
                    prefix=f"c{key}",
                )
            )
    await stack.stop_bot()
    return sets


def rep_stat(reps: list[Batch], key: str, q: float) -> dict[str, Any]:
    """A percentile per batch, the median over batches, and the percentile over all runs."""
    per_rep = [percentile([v for v in b.per_run(key) if v is not None], q) for b in reps]
    pooled = [v for b in reps for v in b.per_run(key) if v is not None]
    return {
        "per_rep": per_rep,
        "median": median(per_rep),
        "pooled": percentile(pooled, q),
        "n": len(pooled),
    }


def headline(reps: list[Batch], key: str, q: float) -> float | None:
    """Median over batches of each batch's percentile; pooled when batches are single runs."""
    stat = rep_stat(reps, key, q)
    single = all(b.size <= 2 for b in reps)
    value = stat["pooled"] if single else stat["median"]
    return None if value is None else round(float(value), 3)


def sizes(plan: Plan) -> dict[str, int]:
    return {"1": 1, "10": plan.ten_runs, "50": plan.fifty_runs}


def first_text(sets: dict[str, list[Batch]], plan: Plan) -> dict[str, Any]:
    name = "2. Time to first visible text"
    rows = []
    for key, count in sizes(plan).items():
        reps = sets[key]
        p95 = headline(reps, "first_text_s", 95)
        p50 = headline(reps, "first_text_s", 50)
        rows.append(
            row(
                name,
                f"p95, {count} concurrent run{'s' if count > 1 else ''}",
                p95,
                "s",
                target="≤ 1.5 s" if key == "1" else "report",
                met=at_most(p95, 1.5) if key == "1" else None,
                note=f"p50 {p50} s; {_describe(reps)}",
            )
        )
    details = {k: rep_stat(v, "first_text_s", 95) for k, v in sets.items()}
    return {"rows": rows, "p95": details}


def time_to_final(sets: dict[str, list[Batch]], plan: Plan) -> dict[str, Any]:
    name = "3. Time to final"
    rows = []
    for key, count in sizes(plan).items():
        reps = sets[key]
        p95 = headline(reps, "final_s", 95)
        p50 = headline(reps, "final_s", 50)
        within = key == "1"
        delivered = sum(1 for b in reps for r in b.runs if r.delivered and r.correct)
        total = sum(b.size for b in reps)
        rows.append(
            row(
                name,
                f"p95, {count} concurrent run{'s' if count > 1 else ''}"
                + (" (within budget)" if within else ""),
                p95,
                "s",
                target="≤ 1 s" if within else "report",
                met=at_most(p95, 1.0) if within else None,
                note=f"p50 {p50} s; {delivered}/{total} correct finals; {_describe(reps)}",
            )
        )
    details = {k: rep_stat(v, "final_s", 95) for k, v in sets.items()}
    return {"rows": rows, "p95": details}


def efficiency(sets: dict[str, list[Batch]], plan: Plan) -> dict[str, Any]:
    name = "4. Efficiency under Slack's limits"
    reps = sets["50"]
    calls = median([b.slack["per_run"] for b in reps])
    limited = sum(b.slack["429"] for b in reps)
    stale_max = median(
        [max([v for v in b.per_run("staleness_s") if v is not None] or [0]) for b in reps]
    )
    stale_p95 = headline(reps, "staleness_s", 95)
    stale_p50 = headline(reps, "staleness_s", 50)
    handinger = median([b.handinger["per_run"] for b in reps])
    missing = sum(1 for b in reps for r in b.runs if r.staleness_s is None)
    label = f"{plan.fifty_runs} runs × {plan.fifty_turn:g} s"
    return {
        "rows": [
            row(
                name,
                f"Slack calls per run ({label})",
                calls,
                "",
                target="report",
                note=_per_run_methods(reps),
            ),
            row(
                name,
                "429s received",
                limited,
                "",
                target="0",
                met=limited == 0,
                note=f"over {len(reps)} batch(es); by method: " + (_by_method(reps) or "none"),
            ),
            row(
                name,
                "longest staleness of any live message",
                stale_max,
                "s",
                target="report",
                note=f"per-message worst: p50 {stale_p50} s, p95 {stale_p95} s"
                + (f"; {missing} run(s) not scored" if missing else ""),
            ),
            row(name, "Handinger calls per run", handinger, "", target="report", note=_kinds(reps)),
        ],
        "batches": "see scenarios.batches.batches['50']",
    }


def bot_cpu(sets: dict[str, list[Batch]], plan: Plan) -> dict[str, Any]:
    """The bot's CPU time per run in each batch size (utime + stime of the bot process from
    the first command to the last final card, divided by the batch's runs): what one run
    costs the process, whatever else the machine was doing."""
    name = "4. Bot CPU"
    rows = []
    details: dict[str, list[float]] = {}
    for key, count in sizes(plan).items():
        reps = sets[key]
        per_run = [b.bot_cpu_s / b.size * 1000 for b in reps if b.size]
        details[key] = [round(v, 1) for v in per_run]
        value = median(per_run) if per_run else None
        rows.append(
            row(
                name,
                f"bot CPU per run, {count} concurrent run{'s' if count > 1 else ''}",
                None if value is None else round(value, 1),
                "ms",
                target="report",
                note=f"median over batches; per batch {', '.join(f'{v:g}' for v in details[key])}"
                " ms",
            )
        )
    return {"rows": rows, "per_batch_ms": details}


def _per_run_methods(reps: list[Batch]) -> str:
    """Calls per run by method, median over batches."""
    methods = sorted({m for b in reps for m in b.slack["by_method"]})
    parts = []
    for method in methods:
        value = median([b.slack["by_method"].get(method, 0) / b.size for b in reps])
        parts.append(f"{method} {value:g}")
    return ", ".join(parts)


def _by_method(reps: list[Batch]) -> str:
    total: dict[str, int] = {}
    for batch in reps:
        for method, count in batch.slack["429_by_method"].items():
            total[method] = total.get(method, 0) + count
    return ", ".join(f"{m} {c}" for m, c in sorted(total.items()))


def _kinds(reps: list[Batch]) -> str:
    if not reps:
        return ""
    batch = reps[-1]
    return ", ".join(
        f"{kind} {count / batch.size:g}" for kind, count in batch.handinger["by_kind"].items()
    )


def _describe(reps: list[Batch]) -> str:
    runs = sum(b.size for b in reps)
    return f"{len(reps)} batch(es), {runs} runs" if reps else "no batches"


def batch_details(sets: dict[str, list[Batch]]) -> dict[str, Any]:
    return {key: [b.as_json() for b in reps] for key, reps in sets.items()}


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)
