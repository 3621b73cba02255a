"""Issue 17's benchmark: concurrent follow-up answers in one workspace, native streaming
(`chat.startStream`/`appendStream`/`stopStream`) against the edit path (`chat.update`).

For each size (10 and 50) and each path, a fresh bot (native streaming on or off) first answers
`/handinger` cards (short turns), one per thread; then a user replies in every thread at once
and the follow-up answers are measured: time to first visible text (from the moment Handinger
emitted the turn's first delta), time to final (from the turn's end), Slack calls per answer
and 429s. Native answers that fell back to the edit path (no stream budget left) are counted.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from emulators.credentials import TEAM

from .batch import STARTUP_METHODS, fresh
from .measure import (
    RunMetrics,
    Turn,
    call_counts,
    instruction,
    ours_versions,
    percentile,
    plain_versions,
    run_metrics,
    tag_of,
)
from .plan import Plan
from .scenarios import at_most, row
from .stack import USER, Stack, gather_limited

SETUP = " [[duration=1]] [[chunks=3]]"
FOLLOW_UP = "And what should we do next about it?"
PATHS = ("native", "edit")


async def followups(stack: Stack, plan: Plan) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in plan.followup_sizes:
        for path in PATHS:
            results[f"{size}-{path}"] = await one_batch(stack, plan, size, path)
    await stack.stop_bot()
    return {"rows": rows(results, plan), "batches": results}


async def one_batch(stack: Stack, plan: Plan, size: int, path: str) -> dict[str, Any]:
    channels = await fresh(
        stack,
        time_scale=1.0,
        turn=plan.followup_turn,
        chunks=plan.chunks,
        channels=math.ceil(size / plan.runs_per_channel),
        prefix=f"followups-{size}-{path}",
        native=path == "native",
    )
    tags = list(range(1, size + 1))
    await start_runs_with(stack, channels, tags)
    finals = await stack.wait_finals(size, 30 + size * 3)
    cards = await cards_by_tag(stack, channels)
    await stack.slack_post("/_emulator/rate-limits", {"refill": True})
    since = max([int(c["seq"]) for c in await stack.calls()], default=0)
    began = time.monotonic()
    posts = [
        stack.slack_post(
            "/_emulator/messages",
            {"channel": channel, "user": USER, "text": FOLLOW_UP, "thread_ts": ts},
        )
        for channel, ts in cards.values()
    ]
    await gather_limited(posts, 16)
    done = await wait_answers(stack, cards, plan.followup_turn + 30 + size * 2)
    wall = time.monotonic() - began
    turns = await follow_up_turns(stack)
    metrics, fallbacks = await score(stack, cards, turns)
    calls = [
        c
        for c in await stack.calls(team=TEAM, since=since)
        if c.get("method") not in STARTUP_METHODS
    ]
    slack = call_counts(calls)

    def values(key: str) -> list[float]:
        return [v for v in (getattr(m, key) for m in metrics) if v is not None]

    return {
        "size": size,
        "path": path,
        "setup_finals": finals,
        "answered": done,
        "wall_s": round(wall, 2),
        "correct": sum(1 for m in metrics if m.delivered and m.correct),
        "fallbacks": fallbacks,
        "first_text_p50": percentile(values("first_text_s"), 50),
        "first_text_p95": percentile(values("first_text_s"), 95),
        "final_p50": percentile(values("final_s"), 50),
        "final_p95": percentile(values("final_s"), 95),
        "calls_per_answer": round(slack["total"] / size, 2) if size else None,
        "429": slack["429"],
        "429_by_method": slack["429_by_method"],
        "by_method": slack["by_method"],
        "per_run": [m.as_json() for m in metrics],
    }


async def start_runs_with(stack: Stack, channels: list[str], tags: list[int]) -> None:
    """The cards whose threads get the follow-ups: short turns, so setting up is quick."""
    coros = [
        stack.slash(channels[index % len(channels)], instruction(tag) + SETUP)
        for index, tag in enumerate(tags)
    ]
    await gather_limited(coros, 16)


async def cards_by_tag(stack: Stack, channels: list[str]) -> dict[str, tuple[str, str]]:
    """Each run's card: tag → (channel, ts)."""
    found: dict[str, tuple[str, str]] = {}
    for channel in channels:
        for message in await stack.messages(channel):
            tag = tag_of(str(message.get("blocks")))
            if message.get("bot_id") and tag is not None:
                found[tag] = (channel, str(message["ts"]))
    return found


async def wait_answers(stack: Stack, cards: dict[str, tuple[str, str]], within: float) -> int:
    """Wait until every thread has a finished bot reply; how many do."""
    deadline = time.monotonic() + within
    while True:
        done = sum(1 for reply in (await replies(stack, cards)).values() if finished(reply))
        if done >= len(cards) or time.monotonic() > deadline:
            return done
        await asyncio.sleep(0.5)


def finished(reply: dict[str, Any] | None) -> bool:
    if reply is None:
        return False
    if (reply.get("stream") or {}).get("state") == "completed" and reply.get("blocks"):
        return True
    return str(reply.get("text", "")).startswith(("✅", "❌"))


async def replies(
    stack: Stack, cards: dict[str, tuple[str, str]]
) -> dict[str, dict[str, Any] | None]:
    """Each run's follow-up answer: the bot's reply in the card's thread."""
    channels = {channel for channel, _ in cards.values()}
    listings = {c: await stack.messages(c) for c in channels}
    out: dict[str, dict[str, Any] | None] = {}
    for tag, (channel, ts) in cards.items():
        root = next((m for m in listings[channel] if m["ts"] == ts), None)
        bot_replies = [r for r in (root or {}).get("replies", []) if r.get("bot_id")]
        out[tag] = bot_replies[-1] if bot_replies else None
    return out


async def follow_up_turns(stack: Stack) -> dict[str, Turn]:
    """Each worker's second turn (the follow-up), keyed by run tag."""
    workers = await stack.handinger_get("/_emulator/workers?times=true")
    texts = await stack.worker_texts([str(w["id"]) for w in workers])
    turns: dict[str, Turn] = {}
    for worker in workers:
        tag = tag_of(str(worker["inputs"][0])) if worker.get("inputs") else None
        if tag is None or len(worker.get("turn_times") or []) < 2:
            continue
        wid = str(worker["id"])
        turns[tag] = Turn.measured(tag, wid, texts[wid], worker["turn_times"][1])
    return turns


async def score(
    stack: Stack, cards: dict[str, tuple[str, str]], turns: dict[str, Turn]
) -> tuple[list[RunMetrics], int]:
    metrics: list[RunMetrics] = []
    fallbacks = 0
    for tag, reply in (await replies(stack, cards)).items():
        turn = turns.get(tag)
        if turn is None:
            continue
        if reply is None:
            metrics.append(RunMetrics(tag, turn.worker_id))
            continue
        if reply.get("stream"):
            edits = [
                {**e, "text": str(e.get("text", "")).replace("\u200b", "")} for e in reply["edits"]
            ]
            versions, correct = plain_versions(turn, edits, "chat.stopStream")
        else:
            fallbacks += 1
            versions, correct = ours_versions(turn, reply["edits"])
        metrics.append(run_metrics(turn, versions, correct))
    return metrics, fallbacks


METRICS = (
    ("first_text_p50", "time to first visible text, p50", "s"),
    ("first_text_p95", "time to first visible text, p95", "s"),
    ("final_p50", "time to final, p50", "s"),
    ("final_p95", "time to final, p95", "s"),
    ("calls_per_answer", "Slack calls per answer", ""),
    ("429", "429s received", ""),
)


def rows(results: dict[str, Any], plan: Plan) -> list[dict[str, Any]]:
    name = "7. Follow-ups: native vs edit"
    out = []
    for size in plan.followup_sizes:
        native, edit = results[f"{size}-native"], results[f"{size}-edit"]
        for key, label, unit in METRICS:
            target, met = "report", None
            if key == "first_text_p95" and size == 10:
                target, met = "≤ 1.5 s", at_most(native[key], 1.5)
            if key == "429":
                target, met = "0", native[key] == 0
            out.append(
                row(
                    name,
                    f"{size} concurrent, {label}: native",
                    native[key],
                    unit,
                    target=target,
                    met=met,
                    note=f"edit path {edit[key]}",
                )
            )
        out.append(
            row(
                name,
                f"{size} concurrent, correct final answers",
                f"native {native['correct']}/{size}, edit {edit['correct']}/{size}",
                target="all",
                met=native["correct"] == size and edit["correct"] == size,
                note=f"native answers edited instead (no stream budget): {native['fallbacks']}",
            )
        )
    return out
