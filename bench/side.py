"""Scenario 6, side by side: our bot against a naive relay and slack_sdk's `chat_stream`.

All three relays run at the same moment on the same Handinger emulator, with the same scripted
turns (same instruction words, length and chunk schedule), so they see the same event streams.
Each has its own Slack emulator (strict limits, real time) so that one relay's 429s never eat
another's budget: the bot uses the main one; each baseline (`bench/relays.py`) gets its own.
Our bot answers `/handinger` with a card in the channel; the baselines answer a user's message
in its thread (chat_stream can only reply in a thread). Both cost one post per run.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

from emulators.credentials import BOT_TOKEN, HANDINGER_KEY, TEAM
from emulators.harness import Child

from .batch import STARTUP_METHODS, collect, fresh, start_runs, turns_by_tag
from .measure import (
    RunMetrics,
    call_counts,
    instruction,
    median,
    percentile,
    plain_versions,
    run_metrics,
    tag_of,
)
from .plan import Plan
from .relays import KINDS
from .scenarios import row
from .stack import USER, Stack
from .usage import usage

FINAL_SOURCE = {"naive": None, "chat_stream": "chat.stopStream"}
TAG_BASE = {"naive": 1000, "chat_stream": 2000}


async def side_by_side(stack: Stack, plan: Plan) -> dict[str, Any]:
    emulators = {
        kind: await asyncio.to_thread(stack.slack_emulator, f"slack-{kind}", "--bot-events", "off")
        for kind in KINDS
    }
    try:
        reps = [await one_round(stack, plan, emulators, rep) for rep in range(plan.side_reps)]
    finally:
        await stack.stop_bot()
        for child in emulators.values():
            child.stop()
    return summarise(reps, plan)


async def one_round(
    stack: Stack, plan: Plan, emulators: dict[str, Child], rep: int
) -> dict[str, Any]:
    count = plan.side_runs
    per_channel = math.ceil(count / plan.runs_per_channel)
    ours = await fresh(
        stack,
        time_scale=1.0,
        turn=plan.side_turn,
        chunks=plan.chunks,
        channels=per_channel,
        prefix="side-ours",
    )
    relays: dict[str, Child] = {}
    channels: dict[str, list[str]] = {}
    for kind, emulator in emulators.items():
        base = emulator.url
        await stack.reset(
            time_scale=1.0, turn_seconds=plan.side_turn, chunks=plan.chunks, base=base
        )
        made = await stack.make_channels(per_channel, f"side-{kind}", base=base)
        channels[kind] = made
        runs = []
        for index in range(count):
            text = instruction(TAG_BASE[kind] + index + 1)
            channel = made[index % len(made)]
            ts = await stack.post_message(channel, text, base=base)
            runs.append({"channel": channel, "thread_ts": ts, "user": USER, "instruction": text})
        spec = {
            "slack": base,
            "handinger": stack.handinger_url,
            "key": HANDINGER_KEY,
            "token": BOT_TOKEN,
            "team": TEAM,
            "runs": runs,
        }
        path = stack.work / f"side-{kind}-{rep}.json"
        path.write_text(json.dumps(spec))
        name = f"relay-{kind}-{rep}"
        relay = Child(
            "bench.relays",
            [kind, str(path)],
            name=name,
            log=stack.logs / f"{name}.log",
            stdin=True,
        )
        relays[kind] = relay.start()
    for relay in relays.values():
        await wait_line(relay, "ready", 30)
    assert stack.bot is not None
    before = usage(stack.bot.pid)
    began = time.monotonic()
    for relay in relays.values():
        assert relay.proc.stdin is not None
        relay.proc.stdin.write(b"go\n")
        relay.proc.stdin.flush()
    answers = await start_runs(stack, ours, list(range(1, count + 1)))
    limit = plan.side_turn + count * 4 + 60
    finals = await stack.wait_finals(count, limit)
    cpu_s = usage(stack.bot.pid).cpu_seconds - before.cpu_seconds
    for relay in relays.values():
        await asyncio.to_thread(relay.proc.wait, max(limit - (time.monotonic() - began), 5))
    wall = time.monotonic() - began
    tags = {f"{index:04d}" for index in range(1, count + 1)}
    batch = await collect(
        stack, ours, chunks=plan.chunks, turn=plan.side_turn, wall=wall, tags=tags
    )
    batch.acks_ms = [float(a["ack_ms"]) for a in answers if a.get("ack_ms") is not None]
    if finals < count:
        batch.notes.append(f"only {finals} of {count} final cards in time")
    result: dict[str, Any] = {"ours": relay_summary(batch.runs, batch.slack, batch.handinger)}
    result["ours"]["bot_cpu_per_run_ms"] = round(cpu_s / count * 1000, 1) if count else None
    result["ours"]["edit_calls"] = edit_calls(await stack.calls(team=TEAM))
    turns, _ = await turns_by_tag(stack)
    for kind, emulator in emulators.items():
        result[kind] = await score_baseline(stack, kind, emulator.url, channels[kind], turns, count)
        result[kind]["relay_output"] = relay_output(relays[kind])
    return result


async def wait_line(child: Child, text: str, within: float) -> None:
    deadline = time.monotonic() + within
    while text not in child.text:
        if time.monotonic() > deadline or not child.alive():
            raise RuntimeError(f"{child.name} did not say {text!r}:\n{child.text[-2000:]}")
        await asyncio.sleep(0.05)


def relay_output(child: Child) -> dict[str, Any]:
    for line in reversed(child.text.splitlines()):
        if line.startswith('{"runs"'):
            runs = json.loads(line)["runs"]
            errors = [r["error"] for r in runs if "error" in r]
            return {
                "errors": errors,
                "dropped": sum(int(r.get("dropped", 0)) for r in runs),
                "deferred": sum(int(r.get("deferred", 0)) for r in runs),
            }
    return {"errors": ["no result line"], "dropped": 0, "deferred": 0}


async def score_baseline(
    stack: Stack, kind: str, base: str, channels: list[str], turns: dict[str, Any], count: int
) -> dict[str, Any]:
    calls = [c for c in await stack.calls(base=base) if c.get("method") not in STARTUP_METHODS]
    metrics: list[RunMetrics] = []
    for channel in channels:
        for root in await stack.messages(channel, base=base):
            tag = tag_of(str(root.get("text", "")))
            reply = next((r for r in root.get("replies", []) if r.get("bot_id")), None)
            if tag is None or tag not in turns:
                continue
            if reply is None:
                metrics.append(RunMetrics(tag, turns[tag].worker_id))
                continue
            versions, correct = plain_versions(turns[tag], reply["edits"], FINAL_SOURCE[kind])
            metrics.append(run_metrics(turns[tag], versions, correct))
    handinger = {"per_run": 1.0, "note": "one streaming create per run"}
    slack = call_counts(calls)
    slack["per_run"] = round(slack["total"] / count, 3) if count else None
    summary = relay_summary(metrics, slack, handinger)
    summary["edit_calls"] = edit_calls(calls)
    return summary


EDIT_METHODS = ("chat.update", "chat.appendStream", "chat.stopStream")


def edit_calls(calls: list[dict[str, Any]]) -> list[list[Any]]:
    """`[time, method, HTTP status]` of every call that edits a message, for the chart."""
    return [
        [round(float(c["time"]), 3), c["method"], c.get("status")]
        for c in calls
        if c.get("method") in EDIT_METHODS and c.get("time") is not None
    ]


def relay_summary(
    runs: list[RunMetrics], slack: dict[str, Any], handinger: dict[str, Any]
) -> dict[str, Any]:
    def values(key: str) -> list[float]:
        return [v for v in (getattr(r, key) for r in runs) if v is not None]

    return {
        "runs": len(runs),
        "correct": sum(1 for r in runs if r.delivered and r.correct),
        "slack_calls_per_run": slack.get("per_run"),
        "slack_calls": slack.get("total"),
        "by_method": slack.get("by_method"),
        "429": slack.get("429"),
        "first_text_p50": percentile(values("first_text_s"), 50),
        "first_text_p95": percentile(values("first_text_s"), 95),
        "final_p50": percentile(values("final_s"), 50),
        "final_p95": percentile(values("final_s"), 95),
        "staleness_max": max(values("staleness_s"), default=None),
        "handinger_per_run": handinger.get("per_run"),
        "per_run": [r.as_json() for r in runs],
    }


METRICS = (
    ("slack_calls_per_run", "Slack calls per run", ""),
    ("429", "429s received", ""),
    ("first_text_p50", "time to first visible text, p50", "s"),
    ("final_p50", "time to final, p50", "s"),
    ("final_p95", "time to final, p95", "s"),
    ("staleness_max", "longest staleness of a live message", "s"),
)


def summarise(reps: list[dict[str, Any]], plan: Plan) -> dict[str, Any]:
    name = "6. Side by side"
    rows = []
    relays = ("ours", *KINDS)
    for key, label, unit in METRICS:
        med = {relay: median([rep[relay][key] for rep in reps]) for relay in relays}
        ratios = []
        for kind in KINDS:
            ratio = _ratio(med["ours"], med[kind])
            ratios.append(f"{kind} {_show(med[kind], unit)} (ours/theirs {ratio})")
        rows.append(
            row(name, f"{label}: ours", med["ours"], unit, target="report", note="; ".join(ratios))
        )
    cpu = [rep["ours"]["bot_cpu_per_run_ms"] for rep in reps]
    rows.append(
        row(
            name,
            "bot CPU per run: ours",
            median(cpu),
            "ms",
            target="report",
            note=f"median over rounds; per round {', '.join(f'{v:g}' for v in cpu)} ms; the "
            "bot process from the first command to the last final card",
        )
    )
    correct = {r: sum(rep[r]["correct"] for rep in reps) for r in relays}
    total = plan.side_runs * len(reps)
    rows.append(
        row(
            name,
            "correct final answers",
            f"ours {correct['ours']}/{total}",
            target="all",
            met=all(c == total for c in correct.values()),
            note=", ".join(f"{k} {correct[k]}/{total}" for k in KINDS),
        )
    )
    return {
        "rows": rows,
        "runs_per_round": plan.side_runs,
        "rounds": len(reps),
        "turn_s": plan.side_turn,
        "medians": {
            relay: {key: median([rep[relay][key] for rep in reps]) for key, _, _ in METRICS}
            for relay in relays
        },
        "rounds_detail": reps,
    }


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None:
        return "n/a"
    if theirs == 0:
        return "n/a" if ours else "1"
    return f"{ours / theirs:.2f}"


def _show(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:g}{(' ' + unit) if unit else ''}"
