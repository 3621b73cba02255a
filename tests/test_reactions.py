"""The reactions on follow-ups, against the Slack emulator: only what the app put on is taken
off, and marks made faster than they are sent are coalesced into the last one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.core.ports import Mark
from bot.slack.reactions import Reactions
from bot.store import Run
from emulators.harness import Child
from tests.slack_emulator import bot_clients, emulator


@pytest.fixture(scope="module")
def slack() -> Iterator[Child]:
    with emulator() as server:
        yield server


def follow_up(ts: str, created_at: float) -> Run:
    return Run(
        id=1,
        team_id="T0001",
        channel_id="C0001",
        thread_ts="1.000001",
        kind="continue",
        input="q",
        budget="standard",
        user_id="U0001",
        status="running",
        created_at=created_at,
        trigger_ts=ts,
    )


def posted(control: httpx.Client, text: str) -> str:
    body = {"channel": "C0001", "user": "U0001", "text": text}
    ts: str = control.post("/_emulator/messages", json=body).json()["ts"]
    return ts


def calls(control: httpx.Client) -> list[tuple[str, str]]:
    found = control.get("/_emulator/calls").json()["calls"]
    return [(c["method"], c["args"]["name"]) for c in found if c["method"].startswith("reac")]


async def settled(reactions: Reactions) -> None:
    for _ in range(200):
        await asyncio.sleep(0.01)
        if all(lane.done() for lane in reactions._lanes.values()):
            return


async def test_marks_faster_than_sent_become_the_last_one(slack: Child) -> None:
    control = httpx.Client(base_url=slack.url)
    control.post("/_emulator/reset").raise_for_status()
    ts = posted(control, "queued, then started, then done")
    reactions = Reactions(bot_clients(slack.url))
    run = follow_up(ts, time.time())
    marks: tuple[Mark, ...] = ("queued", "started", "completed")
    for mark in marks:
        reactions.mark(run, mark)
    await settled(reactions)
    await reactions.aclose()
    assert calls(control) == [("reactions.add", "white_check_mark")]


async def test_only_what_was_put_on_is_taken_off(slack: Child) -> None:
    control = httpx.Client(base_url=slack.url)
    control.post("/_emulator/reset").raise_for_status()
    now, before = posted(control, "started at once"), posted(control, "marked before a restart")
    reactions = Reactions(bot_clients(slack.url))
    reactions.mark(follow_up(now, time.time()), "started")
    await settled(reactions)
    # a run from before this process began: its 👀 was put on by the earlier process
    reactions.mark(follow_up(before, reactions.since - 60), "completed")
    await settled(reactions)
    await reactions.aclose()
    assert calls(control) == [
        ("reactions.add", "eyes"),
        ("reactions.remove", "eyes"),
        ("reactions.add", "white_check_mark"),
    ]
