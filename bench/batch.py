"""One measured batch of runs through our bot: start a fresh bot, type `/handinger` N times
at once, wait for the final cards, then read both emulators' records and score every run.

Each run's Handinger turn, with the times the emulator measured for it, comes from
`GET /_emulator/workers?times=true`; its answer from `GET /api/workers/{id}`. Every benchmark
worker has exactly one turn.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from emulators.credentials import TEAM

from .measure import (
    RunMetrics,
    Turn,
    call_counts,
    instruction,
    ours_versions,
    peak_overlap,
    run_metrics,
    summary,
    tag_of,
)
from .stack import Stack, gather_limited
from .usage import Usage, usage

STARTUP_METHODS = ("auth.test", "apps.connections.open")
"""Called once per bot process, not per run: counted apart."""

FINAL_RATE = 45 / 60
"""Our edit scheduler's default budget: 45 chat.update a minute per workspace."""


@dataclass(slots=True)
class Batch:
    """What one batch measured."""

    runs: list[RunMetrics]
    acks_ms: list[float]
    slack: dict[str, Any]
    handinger: dict[str, Any]
    wall_s: float
    bot_cpu_s: float
    bot_peak_rss_mb: float
    peak_turns: int = 0
    """The most Handinger turns running at once (from the emulator's measured turn times)."""
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.runs)

    def per_run(self, key: str) -> list[float | None]:
        return [getattr(run, key) for run in self.runs]

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": [run.as_json() for run in self.runs],
            "acks_ms": summary(self.acks_ms),
            "slack": self.slack,
            "handinger": self.handinger,
            "wall_s": round(self.wall_s, 2),
            "bot_cpu_s": round(self.bot_cpu_s, 2),
            "bot_peak_rss_mb": round(self.bot_peak_rss_mb, 1),
            "peak_turns": self.peak_turns,
            "notes": self.notes,
        }


async def fresh(
    stack: Stack,
    *,
    time_scale: float,
    turn: float,
    chunks: int,
    channels: int,
    prefix: str,
    native: bool = True,
) -> list[str]:
    """Stop the bot, reset both emulators, make `channels` channels, start a new bot (with
    native streaming of thread answers, or without: `native`)."""
    await stack.stop_bot()
    await stack.reset(time_scale=time_scale, turn_seconds=turn, chunks=chunks)
    made = await stack.make_channels(channels, prefix)
    await stack.start_bot(SLACK_NATIVE_STREAMING=str(native).lower())
    return made


async def start_runs(
    stack: Stack, channels: list[str], tags: list[int], concurrency: int = 16
) -> list[dict[str, Any]]:
    """`/handinger <instruction>` for each tag, round-robin over channels, all at once."""
    coros = [
        stack.slash(channels[index % len(channels)], instruction(tag))
        for index, tag in enumerate(tags)
    ]
    return await gather_limited(coros, concurrency)


def drain_estimate(runs: int, turn: float) -> float:
    """Real seconds to wait for all final cards: the turn, then finals at the edit budget."""
    return turn + runs / FINAL_RATE + 30.0


async def run_batch(
    stack: Stack,
    *,
    runs: int,
    turn: float,
    chunks: int,
    time_scale: float,
    runs_per_channel: int,
    prefix: str,
    channel_count: int | None = None,
) -> Batch:
    channels = await fresh(
        stack,
        time_scale=time_scale,
        turn=turn,
        chunks=chunks,
        channels=channel_count or math.ceil(runs / runs_per_channel),
        prefix=prefix,
    )
    assert stack.bot is not None
    before = usage(stack.bot.pid)
    began = time.monotonic()
    answers = await start_runs(stack, channels, list(range(1, runs + 1)))
    finals = await stack.wait_finals(runs, drain_estimate(runs, turn))
    wall = time.monotonic() - began
    after = usage(stack.bot.pid)
    batch = await collect(stack, channels, chunks=chunks, turn=turn, wall=wall)
    batch.acks_ms = [float(a["ack_ms"]) for a in answers if a.get("ack_ms") is not None]
    batch.bot_cpu_s = after.cpu_seconds - before.cpu_seconds
    batch.bot_peak_rss_mb = after.peak_rss_mb
    if finals < runs:
        batch.notes.append(f"only {finals} of {runs} final cards within the time limit")
    return batch


async def turns_by_tag(stack: Stack) -> tuple[dict[str, Turn], Any]:
    """Each worker's (first and only) turn, keyed by run tag; and the Handinger request log
    (read first, so the harness's own GETs of the answers are not in it)."""
    requests = await stack.requests()
    workers = await stack.handinger_get("/_emulator/workers?times=true")
    if any("turn_times" not in worker for worker in workers):
        raise RuntimeError(
            "the Handinger emulator does not report turn times (`/_emulator/workers?times=true`):"
            " the measured copy of bot/ predates them"
        )
    texts = await stack.worker_texts([str(w["id"]) for w in workers])
    turns: dict[str, Turn] = {}
    for worker in workers:
        first = str(worker["inputs"][0]) if worker.get("inputs") else ""
        tag = tag_of(first)
        if tag is None or not worker["turn_times"]:
            continue
        wid = str(worker["id"])
        turns[tag] = Turn.measured(tag, wid, texts[wid], worker["turn_times"][0])
    return turns, requests


def turn_check(turns: Iterable[Turn], chunks: int, turn: float) -> dict[str, Any]:
    """The measured turns against what the emulator was told to play (at most `chunks` deltas
    that add up to the answer, over `turn` seconds): turns not ended, turns whose deltas do not
    fit, and how much longer than `turn` the ended ones took (the emulator's own lateness)."""
    listed = list(turns)

    def fits(t: Turn) -> bool:
        return 0 < t.n <= chunks and t.delta_ends[-1] == len(t.answer)

    return {
        "not_ended": sum(1 for t in listed if t.ended is None),
        "deltas_not_as_configured": sum(1 for t in listed if not fits(t)),
        "late_s": summary(t.ended - t.started - turn for t in listed if t.ended is not None),
    }


def request_kind(method: str, path: str) -> str:
    """`POST /api/workers`, `GET /api/workers/{id}`, `GET /api/workers/{id}/stream`, …"""
    parts = path.strip("/").split("/")
    if parts[:2] != ["api", "workers"] or len(parts) < 3:
        return f"{method} {path}"
    return f"{method} /api/workers/" + "/".join(["{id}", *parts[3:]])


def handinger_counts(requests: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    by_kind: dict[str, int] = {}
    for entry in requests:
        kind = request_kind(str(entry.get("method")), str(entry.get("path", "")))
        by_kind[kind] = by_kind.get(kind, 0) + 1
    errors = sum(1 for e in requests if (e.get("status") or 0) >= 400)
    return {
        "total": len(requests),
        "per_run": round(len(requests) / runs, 3) if runs else None,
        "by_kind": dict(sorted(by_kind.items())),
        "errors": errors,
    }


def ours_requests(requests: list[dict[str, Any]], turns: dict[str, Turn]) -> list[dict[str, Any]]:
    """The Handinger requests that belong to `turns` (other relays may share the emulator)."""
    ids = {turn.worker_id for turn in turns.values()}
    mine = []
    for entry in requests:
        body = entry.get("body")
        text = body.get("input") if isinstance(body, dict) else None
        path = str(entry.get("path", ""))
        worker = path.split("/")[3] if path.startswith("/api/workers/") else None
        if worker in ids or (isinstance(text, str) and tag_of(text) in turns):
            mine.append(entry)
    return mine


async def collect(
    stack: Stack,
    channels: list[str],
    *,
    chunks: int,
    turn: float,
    wall: float,
    tags: set[str] | None = None,
) -> Batch:
    """Score every run of our bot found in `channels` (only `tags`, when given). `chunks` and
    `turn` are what the Handinger emulator was configured with, to check its turns against."""
    turns, requests = await turns_by_tag(stack)
    streams = await stack.handinger_get("/_emulator/stats")
    if tags is not None:
        turns = {tag: t for tag, t in turns.items() if tag in tags}
        requests = ours_requests(requests, turns)
    calls = await stack.calls(team=TEAM)
    per_run_calls = [c for c in calls if c.get("method") not in STARTUP_METHODS]
    metrics: list[RunMetrics] = []
    found: set[str] = set()
    listings = await asyncio.gather(*(stack.messages(c) for c in channels))
    for listing in listings:
        for message in listing:
            if not message.get("bot_id") or not message.get("edits"):
                continue
            tag = tag_of(json.dumps(message["edits"][0].get("blocks"), ensure_ascii=False))
            if tag is None or tag not in turns:
                continue
            versions, correct = ours_versions(turns[tag], message["edits"])
            scored = run_metrics(turns[tag], versions, correct)
            if any(str(e.get("text", "")).startswith("❌") for e in message["edits"]):
                scored.extra["failed_card"] = True
            metrics.append(scored)
            found.add(tag)
    for tag, missing in turns.items():
        if tag not in found:  # a run whose card never appeared
            metrics.append(RunMetrics(tag, missing.worker_id))
    runs = len(turns)
    slack = call_counts(per_run_calls)
    slack["per_run"] = round(slack["total"] / runs, 3) if runs else None
    slack["startup_calls"] = len(calls) - len(per_run_calls)
    handinger = handinger_counts(requests, runs)
    handinger["turns"] = turn_check(turns.values(), chunks, turn)
    # every SSE response since the reset: in side by side, the baselines' streams too
    handinger["peak_open_streams"] = streams["peak_open_streams"]
    batch = Batch(
        runs=sorted(metrics, key=lambda m: m.tag),
        acks_ms=[],
        slack=slack,
        handinger=handinger,
        wall_s=wall,
        bot_cpu_s=0.0,
        bot_peak_rss_mb=0.0,
        peak_turns=peak_overlap(turns.values()),
    )
    checked = handinger["turns"]
    if checked["not_ended"] or checked["deltas_not_as_configured"]:
        batch.notes.append(
            f"Handinger: {checked['not_ended']} turn(s) not ended, "
            f"{checked['deltas_not_as_configured']} whose deltas are not {chunks} or fewer "
            "adding up to the answer"
        )
    return batch


def log_problems(text: str, limit: int = 8) -> dict[str, int]:
    """WARNING/ERROR lines of a bot log, ids and numbers blanked, most frequent first."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if " WARNING " not in line and " ERROR " not in line:
            continue
        message = line.split(" ", 2)[-1]
        message = re.sub(r"\b[\w-]*\d[\w.:-]*", "#", message)[:160]
        counts[message] = counts.get(message, 0) + 1
    top = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    return dict(top)


def usage_json(usage: Usage) -> dict[str, float]:
    return {
        "cpu_s": round(usage.cpu_seconds, 2),
        "rss_mb": round(usage.rss_mb, 1),
        "peak_rss_mb": round(usage.peak_rss_mb, 1),
    }
