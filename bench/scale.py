"""Scenario 5, scale: many concurrent runs in one bot process.

The issue asks for 1,000 runs across 20 workspaces. The bot serves one workspace (one bot
token), so this runs the largest comparable load it can carry: the same number of concurrent
runs in ONE workspace, spread over 20 channels. The difference matters for delivery time only:
Slack allows about 50 `chat.update` a minute per workspace, and the bot spends at most 45, so in
one workspace the final cards of 1,000 runs need about 22 minutes, where 20 workspaces would
deliver them in parallel, about 50 a workspace in just over a minute. Memory and CPU, which the
scale target is about, depend on the number of concurrent runs, not on how many workspaces
they are in.

The Slack emulator is time-scaled (`scale_time_scale`) so that posting 1,000 cards is not held
up by chat.postMessage's 300/min workspace limit; final edits are paced by the bot itself in
real time, which no Slack time scale changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from .batch import FINAL_RATE, collect, fresh, log_problems, start_runs, usage_json
from .measure import summary
from .plan import Plan
from .scenarios import at_most, row, running_workers, tidy, wait_streaming
from .stack import Stack

RSS_TARGET_MB = 300.0


async def scale(stack: Stack, plan: Plan) -> dict[str, Any]:
    """The issue's load (`scale_runs`), then the largest load the bot completes
    (`scale_fit_runs`, waiting for every answer)."""
    target = await variant(
        stack, plan, plan.scale_runs, plan.scale_turn, plan.scale_drain, plan.scale_wait_all
    )
    out: dict[str, Any] = {"rows": target.pop("rows"), "target_load": target}
    if plan.scale_fit_runs:
        fit = await variant(stack, plan, plan.scale_fit_runs, plan.scale_fit_turn, 3600.0, True)
        out["rows"] += fit.pop("rows")
        out["fit_load"] = fit
    return out


async def variant(
    stack: Stack,
    plan: Plan,
    runs: int,
    turn: float,
    drain: float,
    wait_all: bool,
) -> dict[str, Any]:
    name = f"5. Scale, {runs:,} runs"
    channels = await fresh(
        stack,
        time_scale=plan.scale_time_scale,
        turn=turn,
        chunks=plan.chunks,
        channels=plan.scale_channels,
        prefix="scale",
    )
    assert stack.bot is not None
    bot = stack.bot
    idle = bot.usage()
    samples: list[dict[str, float]] = []
    peak_streaming = 0
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak_streaming
        t0 = time.monotonic()
        while not stop.is_set():
            now = bot.usage()
            streaming = await running_workers(stack)
            peak_streaming = max(peak_streaming, streaming)
            samples.append(
                {
                    "t": round(time.monotonic() - t0, 1),
                    "rss_mb": round(now.rss_mb, 1),
                    "cpu_s": round(now.cpu_seconds, 2),
                    "streaming": streaming,
                }
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)

    sampler = asyncio.create_task(sample())
    began = time.monotonic()
    answers = await start_runs(stack, channels, list(range(1, runs + 1)), 16)
    ramp_s = time.monotonic() - began
    # every turn has ended once no worker is running any more
    await wait_streaming(stack, 0, turn + ramp_s + 30, falling=True)
    turns_done_s = time.monotonic() - began
    drain = 3600.0 if wait_all else drain
    delivered = await stack.wait_finals(runs, drain)
    wall = time.monotonic() - began
    end = bot.usage()
    stop.set()
    await sampler
    batch = await collect(stack, channels, chunks=plan.chunks, turn=turn, wall=wall)
    problems = log_problems(bot.output())
    await stack.stop_bot()
    failed_cards = sum(1 for r in batch.runs if r.extra.get("failed_card"))
    correct = sum(1 for r in batch.runs if r.delivered and r.correct)
    wrong = sum(1 for r in batch.runs if r.delivered and not r.correct) - failed_cards
    acked = sum(1 for a in answers if a.get("acked"))
    acks_ms = [float(a["ack_ms"]) for a in answers if a.get("ack_ms") is not None]
    pending = runs - delivered
    projected = turns_done_s + runs / FINAL_RATE
    label = f"{runs:,} runs, 1 workspace × {plan.scale_channels} channels"
    all_in = delivered >= runs
    return {
        "rows": [
            row(
                name,
                f"peak RSS of the bot, {label}",
                round(end.peak_rss_mb, 1),
                "MB",
                target=f"≤ {RSS_TARGET_MB:g} MB",
                met=at_most(end.peak_rss_mb, RSS_TARGET_MB),
                note=f"idle bot {idle.rss_mb:.0f} MB; {wall:.0f} s wall",
            ),
            row(
                name,
                "bot CPU seconds for the whole load",
                round(end.cpu_seconds - idle.cpu_seconds, 1),
                "s",
                target="report",
                note=f"ramp of {runs:,} commands {ramp_s:.0f} s",
            ),
            row(
                name,
                "most runs streaming at once",
                batch.peak_turns,
                "",
                target=f"{runs}",
                met=batch.peak_turns >= runs,
                note="Handinger turns running at the same moment; Handinger requests: "
                + ", ".join(f"{k} {v}" for k, v in batch.handinger["by_kind"].items()),
            ),
            row(
                name,
                "final answers delivered and correct",
                f"{correct}/{runs}",
                target=f"{runs}/{runs}",
                met=correct == runs and wrong == 0,
                note=(
                    "all delivered"
                    if all_in
                    else f"{pending} not delivered {drain:g} s after the last turn ended "
                    f"(at 45 final edits a minute in one workspace, all {runs:,} would need "
                    f"until ~{projected / 60:.0f} min)"
                )
                + (f"; {failed_cards} run(s) ended with ❌" if failed_cards else "")
                + (f"; {wrong} wrong" if wrong else ""),
            ),
            row(
                name,
                "commands acked",
                f"{acked}/{runs}",
                target=f"{runs}/{runs}",
                met=acked == runs,
                note=f"ack p99 {tidy(summary(acks_ms)['p99'])} ms",
            ),
        ],
        "label": "ONE workspace (the bot is single-workspace); issue target is 20 workspaces",
        "runs": runs,
        "channels": plan.scale_channels,
        "slack_time_scale": plan.scale_time_scale,
        "bot_idle": usage_json(idle),
        "bot_end": usage_json(end),
        "peak_turns": batch.peak_turns,
        "peak_streaming_sampled": peak_streaming,
        "ramp_s": round(ramp_s, 1),
        "turns_done_s": round(turns_done_s, 1),
        "wall_s": round(wall, 1),
        "delivered": delivered,
        "correct": correct,
        "wrong": wrong,
        "failed_cards": failed_cards,
        "bot_log_problems": problems,
        "projected_all_delivered_s": round(projected, 0),
        "acks_ms": summary(acks_ms),
        "slack": batch.slack,
        "handinger": batch.handinger,
        "samples": samples,
    }
