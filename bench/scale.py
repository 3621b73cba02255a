"""Scenario 5, scale: 1,000 concurrent runs across 20 workspaces in one bot process.

As the issue states it. The Slack emulator gets `scale_workspaces` new workspaces where the app
is not installed, each with `scale_channels` channels. The bot starts in HTTP mode with OAuth
installs and no bot token (signed HTTP delivery from the emulator, as
`tests/test_bot_e2e_oauth.py` runs it), and the harness installs it into every workspace the way
an admin does: the bot's install page, Slack's authorize page, back to the bot's redirect URL.
Then `scale_runs` `/handinger` commands are typed at once, spread evenly over the workspaces
(round-robin, so the ramp interleaves them) and over each workspace's channels, and the
harness waits for every final answer.

Slack runs in strict rate-limit mode at real time (`scale_time_scale` is 1): 50 runs a
workspace post 50 cards, inside chat.postMessage's workspace burst of 60, and the bot paces its
posts per channel itself. Each workspace has its own Slack budgets, so its 50 final edits go
out at the bot's 45 a minute in parallel with the other workspaces'.

Slack calls are counted per workspace (`tally`). `run_load` also carries the issue-15 variants
(`replicas.py`): several bot processes on one PostgreSQL database behind a round-robin
balancer, with the database's statements and CPU measured on the server's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

from emulators.harness import Child

from .batch import FINAL_RATE, collect, log_problems, usage_json
from .database import Database, database_rows
from .measure import instruction, summary
from .plan import Plan
from .scenarios import at_most, row, running_workers, tidy
from .stack import Stack, Workspace, gather_limited
from .tally import per_workspace, repeated_finals, request_totals, slack_totals
from .usage import spent, total, usage

RSS_TARGET_MB = 300.0
NAME = "5. Scale"


async def scale(stack: Stack, plan: Plan) -> dict[str, Any]:
    """The issue's load: `scale_runs` runs over `scale_workspaces` workspaces, every final
    answer waited for (up to `scale_drain` s after the last turn ended, or an hour)."""
    load = await run_load(stack, plan)
    return {"rows": load.pop("rows"), "target_load": load}


async def setup(
    stack: Stack, plan: Plan, replicas: int = 1, database_url: str | None = None
) -> tuple[list[Workspace], list[float]]:
    """Fresh emulators, the workspaces and their channels, fresh bots in HTTP + OAuth mode
    (`replicas` of them on `database_url`), installed into every workspace. Returns the
    workspaces and each install's seconds."""
    await stack.stop_bot()
    await stack.reset(
        time_scale=plan.scale_time_scale, turn_seconds=plan.scale_turn, chunks=plan.chunks
    )
    workspaces = [
        await stack.add_workspace(plan.scale_channels, "scale")
        for _ in range(plan.scale_workspaces)
    ]
    await stack.start_oauth_bot(replicas, database_url)
    installs: list[float] = []
    for where in workspaces:
        began = time.monotonic()
        await stack.install(where.team)
        installs.append(time.monotonic() - began)
    exchanged = await stack.calls(method="oauth.v2.access")
    done = {str(c.get("team")) for c in exchanged if c.get("ok")}
    missing = [w.team for w in workspaces if w.team not in done]
    if missing:
        raise RuntimeError(f"the app was not installed into {', '.join(missing)}")
    return workspaces, installs


def spread(workspaces: list[Workspace], runs: int) -> list[tuple[Workspace, str]]:
    """Where run i goes: workspaces round-robin, then that workspace's channels round-robin."""
    out = []
    for index in range(runs):
        where = workspaces[index % len(workspaces)]
        turn = index // len(workspaces)
        out.append((where, where.channels[turn % len(where.channels)]))
    return out


class Sampler:
    """The bots' RSS and CPU (all replicas together), and how many Handinger turns are
    running, every 2 s."""

    def __init__(self, stack: Stack, bots: list[Child]) -> None:
        self.stack = stack
        self.bots = bots
        self.samples: list[dict[str, float]] = []
        self.peak_streaming = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.is_set():
            now = [usage(bot.pid) for bot in self.bots]
            streaming = await running_workers(self.stack)
            self.peak_streaming = max(self.peak_streaming, streaming)
            self.samples.append(
                {
                    "t": round(time.monotonic() - t0, 1),
                    "rss_mb": round(sum(u.rss_mb for u in now), 1),
                    "cpu_s": round(sum(u.cpu_seconds for u in now), 2),
                    "streaming": streaming,
                }
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 2.0)


async def run_load(
    stack: Stack, plan: Plan, replicas: int = 1, database: Database | None = None
) -> dict[str, Any]:
    """Scenario 5's load on fresh bots: one on SQLite, or `replicas` on a new database of
    `database` (PostgreSQL), whose statements and CPU during the load are measured too."""
    runs, turn = plan.scale_runs, plan.scale_turn
    install_began = time.monotonic()
    dbname, url = database.fresh() if database else ("", None)
    workspaces, installs = await setup(stack, plan, replicas, url)
    setup_s = time.monotonic() - install_began
    bots = list(stack.replicas)
    idles = [usage(bot.pid) for bot in bots]
    idle = total(idles)
    db_before = await database.snapshot(dbname) if database else None
    counted_before = await stack.statements()
    sampler = Sampler(stack, bots)
    sampler.start()
    began = time.monotonic()
    placed = spread(workspaces, runs)
    answers = await gather_limited(
        [
            stack.slash(channel, instruction(tag), team=where.team, user=where.user)
            for tag, (where, channel) in enumerate(placed, start=1)
        ],
        16,
    )
    ramp_s = time.monotonic() - began
    await turns_over(stack, runs, turn + ramp_s + 60)
    turns_done_s = time.monotonic() - began
    drain = 3600.0 if plan.scale_wait_all else plan.scale_drain
    delivered = await stack.wait_finals(runs, drain)
    wall = time.monotonic() - began
    ends = [usage(bot.pid) for bot in bots]
    end = total(ends)
    db_used = (await database.snapshot(dbname)).since(db_before) if database and db_before else None
    counted = [
        None if a is None or b is None else a - b
        for a, b in zip(await stack.statements(), counted_before, strict=True)
    ]
    await sampler.stop()
    channels = [channel for where in workspaces for channel in where.channels]
    batch = await collect(stack, channels, chunks=plan.chunks, turn=turn, wall=wall)
    calls = await stack.calls()
    acks = await stack.acks()
    problems = sum((Counter(log_problems(bot.text)) for bot in bots), Counter[str]())
    balanced = await stack.balanced()
    sent: list[int | None] = list(balanced) if balanced else [None] * len(bots)
    await stack.stop_bot()

    per_team_runs = Counter(where.team for where, _ in placed)
    teams = per_workspace(calls, acks, per_team_runs)
    slack = slack_totals(calls, runs, teams)
    requests = request_totals(acks)

    failed_cards = sum(1 for r in batch.runs if r.extra.get("failed_card"))
    correct = sum(1 for r in batch.runs if r.delivered and r.correct)
    wrong = sum(1 for r in batch.runs if r.delivered and not r.correct) - failed_cards
    acked = sum(1 for a in answers if a.get("acked"))
    acks_ms = summary(float(a["ack_ms"]) for a in answers if a.get("ack_ms") is not None)
    finals = summary(r.final_s for r in batch.runs)
    per_workspace_runs = max(per_team_runs.values())
    projected = turns_done_s + per_workspace_runs / FINAL_RATE
    per = plan.scale_channels
    label = f"{runs:,} runs, {len(workspaces)} workspaces × {per} channel{'s' * (per != 1)}"
    name = f"{NAME}, {runs:,} runs × {len(workspaces)} workspaces"
    if replicas > 1:
        label += f", {replicas} replicas"
    grown = max(e.peak_rss_mb - i.rss_mb for e, i in zip(ends, idles, strict=True))
    rows = [
        row(
            name,
            f"peak RSS of the bot, {label}",
            round(end.peak_rss_mb, 1),
            "MB",
            target=f"≤ {RSS_TARGET_MB:g} MB",
            met=at_most(end.peak_rss_mb, RSS_TARGET_MB),
            note=f"idle bot (installed, before the first command) {idle.rss_mb:.0f} MB; "
            f"{grown / runs * 1000:.0f} kB more per run"
            + (
                f"; per replica {' / '.join(f'{e.peak_rss_mb:.0f}' for e in ends)} MB"
                if replicas > 1
                else ""
            ),
        ),
        row(
            name,
            "bot CPU seconds for the whole load",
            round(end.cpu_seconds - idle.cpu_seconds, 1),
            "s",
            target="report",
            note=f"in {wall:.0f} s of wall time; {(end.cpu_seconds - idle.cpu_seconds) / wall:.2f}"
            " of a core on average"
            + (f"; per replica {spent(ends, idles)} s" if replicas > 1 else ""),
        ),
        row(
            name,
            "most runs streaming at once",
            batch.peak_turns,
            "",
            target=f"{runs}",
            met=batch.peak_turns >= runs,
            note="Handinger turns running at the same moment"
            + (
                f"; peak open Handinger streams {batch.handinger['peak_open_streams']}"
                if batch.handinger.get("peak_open_streams") is not None
                else ""
            )
            + f"; {sampler.peak_streaming} seen running in one 2-s sample; Handinger requests: "
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
                if delivered >= runs
                else f"{runs - delivered} not delivered {drain:g} s after the last turn ended "
                f"(at 45 final edits a minute per workspace, {per_workspace_runs} a workspace "
                f"would need until ~{projected:.0f} s)"
            )
            + f"; time to final p50 {tidy(finals['p50'])} s, p95 {tidy(finals['p95'])} s"
            + (f"; {failed_cards} run(s) ended with ❌" if failed_cards else "")
            + (f"; {wrong} wrong" if wrong else ""),
        ),
        row(
            name,
            "wall time, first command to last final answer",
            round(wall, 1),
            "s",
            target="report",
            note=f"{turn:g}-s turns; ramp of {runs:,} commands {ramp_s:.0f} s; last turn ended "
            f"at {turns_done_s:.1f} s; setup ({len(workspaces)} workspaces, bot start, OAuth "
            f"installs {sum(installs):.1f} s, slowest {max(installs):.2f} s) {setup_s:.0f} s",
        ),
        row(
            name,
            "commands acked",
            f"{acked}/{runs}",
            target=f"{runs}/{runs}",
            met=acked == runs,
            note=f"ack p50 {tidy(acks_ms['p50'])} ms, p99 {tidy(acks_ms['p99'])} ms, "
            f"max {tidy(acks_ms['max'])} ms; signed HTTP delivery",
        ),
        row(
            name,
            "events Slack sent the bot, acked in time",
            f"{requests['events_acked']}/{requests['events']}",
            target="all",
            met=requests["events_acked"] == requests["events"],
            note=f"{requests['events'] / runs:.1f} events per run (the bot's own posts and "
            f"edits come back); ack p99 {tidy(requests['events_ack_ms']['p99'])} ms; "
            f"{requests['retries']} redelivered",
        ),
        row(
            name,
            "Slack calls per run",
            slack["per_run"],
            "",
            target="report",
            note=f"per workspace {slack['per_run_min']}–{slack['per_run_max']}; "
            + ", ".join(f"{k} {v}" for k, v in slack["by_method"].items())
            + f"; besides: auth.test {slack['auth_test']} "
            f"({slack['auth_test_per_request']:.2f} per request from Slack), "
            f"oauth.v2.access {slack['installs']}",
        ),
        *database_rows(name, db_used, runs, wall),
        row(
            name,
            "429s received",
            slack["429"],
            "",
            target="report",
            note=(
                f"in {slack['workspaces_limited']} of {len(workspaces)} workspaces; by method: "
                + ", ".join(f"{k} {v}" for k, v in slack["429_by_method"].items())
                if slack["429"]
                else f"none in any of the {len(workspaces)} workspaces"
            ),
        ),
    ]
    return {
        "rows": rows,
        "label": label,
        "mode": "HTTP mode, OAuth installs (no bot token)",
        "runs": runs,
        "workspaces": len(workspaces),
        "channels_per_workspace": plan.scale_channels,
        "slack_time_scale": plan.scale_time_scale,
        "installs_s": [round(s, 3) for s in installs],
        "setup_s": round(setup_s, 1),
        "bot_idle": usage_json(idle),
        "bot_end": usage_json(end),
        "engine": "postgresql" if database else "sqlite",
        "replicas": [
            {
                "name": bot.name,
                "idle": usage_json(i),
                "end": usage_json(e),
                "requests": n,
                "statements": c,
            }
            for bot, i, e, n, c in zip(bots, idles, ends, sent, counted, strict=True)
        ],
        "database": db_used,
        "peak_turns": batch.peak_turns,
        "peak_streaming_sampled": sampler.peak_streaming,
        "ramp_s": round(ramp_s, 1),
        "turns_done_s": round(turns_done_s, 1),
        "wall_s": round(wall, 1),
        "delivered": delivered,
        "correct": correct,
        "wrong": wrong,
        "failed_cards": failed_cards,
        "final_s": finals,
        "bot_log_problems": dict(problems.most_common(8)),
        "projected_all_delivered_s": round(projected, 0),
        "acked": acked,
        "repeated_finals": repeated_finals(calls),
        "resumed_streams": batch.handinger["by_kind"].get("GET /api/workers/{id}/stream", 0),
        "acks_ms": acks_ms,
        "requests_from_slack": requests,
        "slack": slack,
        "slack_by_workspace": teams,
        "handinger": batch.handinger,
        "notes": batch.notes,
        "samples": sampler.samples,
    }


async def turns_over(stack: Stack, runs: int, within: float) -> None:
    """Wait until every run's worker exists and none is running any more: each card is posted
    before its turn starts, and cards are paced per channel, so the last turns start a few
    seconds after their command was acked."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        workers = await stack.workers()
        if len(workers) >= runs and not any(w.get("status") == "running" for w in workers):
            return
        await asyncio.sleep(0.5)
