"""A 429 one process gets pauses the same scope in every process (`SharedRates`), and the
assistant statuses of every process share one allowance per conversation; on both engines,
against the Slack emulator where Slack's answer matters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from bot.core.views import RunView
from bot.slack.edit_lane import EditPolicy
from bot.slack.edit_scheduler import EditScheduler, RateLimited
from bot.slack.pacing import ChannelPacer
from bot.slack.posting import Poster
from bot.slack.shared_rates import SharedRates
from bot.slack.streaming import NativeStreams
from bot.slack.thread_status import ThreadStatuses
from bot.store import Run
from emulators.harness import Child
from tests.slack_emulator import bot_clients, emulator
from tests.stores import Backend

POLICY = EditPolicy(interval=0.01, per_minute=45, burst=5, max_in_flight=1)


@pytest.fixture(scope="module")
def slack() -> Iterator[Child]:
    with emulator("--rate-limits", "strict") as server:
        yield server


def limit(
    slack: Child, method: str, per_minute: float, burst: float = 1, scope: str = "channel"
) -> None:
    """Fresh emulator state, with `method` allowed `per_minute` calls per `scope`, `burst`
    at once."""
    spec = {"per_minute": per_minute, "burst": burst, "scope": scope}
    with httpx.Client(base_url=slack.url) as control:
        control.post("/_emulator/reset").raise_for_status()
        control.post(
            "/_emulator/rate-limits", json={"overrides": {method: spec}}
        ).raise_for_status()


def run_in(channel: str, thread_ts: str | None = None, run_id: int = 1) -> Run:
    return Run(
        id=run_id, team_id="T0001", channel_id=channel, thread_ts=thread_ts, kind="new", input="q",
        budget="low", user_id="U0001", status="running", created_at=0.0,
    )  # fmt: skip


async def test_a_429_in_one_process_pauses_the_workspace_edits_of_the_other(
    backend: Backend,
) -> None:
    a, b = SharedRates(await backend.open(), "A"), SharedRates(await backend.open(), "B")
    told = asyncio.Event()

    async def limited(key: str, payload: str, final: bool) -> None:
        told.set()
        raise RateLimited(30)

    scheduler = EditScheduler(
        limited,
        POLICY,
        gate=a.edits("chat.update", POLICY),
        pause=a.pause("chat.update"),
    )
    scheduler.update("T1", "m1", "progress")
    await asyncio.wait_for(told.wait(), 10)
    await scheduler.aclose()  # after the 429 was handled, or cancelled on its way
    take = b.edits("chat.update", POLICY)
    assert 20 < await take("T1", True, 0) <= 30  # B's finals wait for the pause too
    assert await take("T2", True, 0) == 0.0  # another workspace does not


async def test_a_post_refused_with_429_pauses_the_channel_for_every_process(
    backend: Backend, slack: Child
) -> None:
    limit(slack, "chat.postMessage", 1)
    a, b = SharedRates(await backend.open(), "A"), SharedRates(await backend.open(), "B")
    clients = bot_clients(slack.url)
    poster = Poster(clients, ChannelPacer(shared=a.post), max_attempts=1, rates=a)
    message: Any = type("Message", (), {"text": "hi", "blocks": []})()
    await poster.post(run_in("C0001"), message, None)
    with pytest.raises(Exception, match="ratelimited"):
        await poster.post(run_in("C0001"), message, None)  # Slack's minute allows one
    assert await b.post("T0001", "C0001") > 10  # B does not try before Slack's Retry-After
    assert await b.post("T0001", "C0002") == 0.0


async def test_a_stream_start_refused_with_429_pauses_starts_for_every_process(
    backend: Backend, slack: Child
) -> None:
    limit(slack, "chat.startStream", 1, scope="workspace")
    a, b = SharedRates(await backend.open(), "A"), SharedRates(await backend.open(), "B")
    client = await bot_clients(slack.url).client_for("T0001")
    streams = NativeStreams(bot_clients(slack.url), rates=a)
    for n in range(2):
        ts = str((await client.chat_postMessage(channel="C0001", text=f"q{n}"))["ts"])
        run = replace(run_in("C0001", ts, n), trigger_ts=ts)
        started = await streams.open(run, RunView(run_id=n, state="working", requester="U0001",
                                                  instruction="q"))  # fmt: skip
        assert (started is None) == (n == 1)  # Slack's minute allows one: edited instead
    await streams.aclose()
    assert await b.start_stream("T0001", 18) > 10  # B does not try before Slack's Retry-After
    assert await b.start_stream("T0002", 18) == 0.0


async def test_statuses_of_two_processes_share_one_allowance_per_conversation(
    backend: Backend, slack: Child
) -> None:
    limit(slack, "assistant.threads.setStatus", 60, burst=3)  # Slack's: about 1 a second
    client = await bot_clients(slack.url).client_for("T0001")
    threads = [str((await client.chat_postMessage(channel="C0001", text=t))["ts"]) for t in "abcd"]
    statuses = [
        ThreadStatuses(
            bot_clients(slack.url),
            None,
            rates=SharedRates(await backend.open(), name),
        )
        for name in "AB"
    ]  # two processes, two threads each in one conversation (the assistant pane's DM)
    runs = [(statuses[n % 2], run_in("C0001", ts, n)) for n, ts in enumerate(threads)]
    for line, run in runs:
        line.begin(run, view("Searching"))
    await eventually(lambda: len(status_calls(slack)) == 4)  # every thread's status
    for line, run in runs:
        await line.end(run)  # and its clearing: eight at once, without the shared count
    sent = status_calls(slack)
    assert [call["ok"] for call in sent] == [True] * 8  # no 429 in the conversation
    for ts in threads:
        assert [c["args"]["status"] for c in sent if c["args"]["thread_ts"] == ts] == [
            "is searching…",
            "",
        ]


def status_calls(slack: Child) -> list[dict[str, Any]]:
    with httpx.Client(base_url=slack.url) as control:
        response = control.get("/_emulator/calls", params={"method": "assistant.threads.setStatus"})
    calls: list[dict[str, Any]] = response.raise_for_status().json()["calls"]
    return calls


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds (it is polled), failing after 20 s."""
    async with asyncio.timeout(20):
        while not await asyncio.to_thread(condition):  # noqa: ASYNC110 - another process's state
            await asyncio.sleep(0.1)


def view(step: str) -> RunView:
    return RunView(run_id=1, state="working", requester="U0001", instruction="q", step=step)


async def test_streamed_answers_of_two_processes_share_the_statuses_allowance(
    backend: Backend, slack: Child
) -> None:
    limit(slack, "assistant.threads.setStatus", 60, burst=3)  # Slack's: about 1 a second
    client = await bot_clients(slack.url).client_for("T0001")
    processes = [
        NativeStreams(
            bot_clients(slack.url),
            rates=SharedRates(await backend.open(), name),
        )
        for name in "AB"
    ]
    runs = []
    for n in range(4):  # two assistant threads per process, in one conversation
        ts = str((await client.chat_postMessage(channel="C0001", text=f"q{n}"))["ts"])
        run = replace(run_in("C0001", ts, n), trigger_ts=ts)
        working = RunView(run_id=n, state="working", requester="U0001", instruction="q")
        message_ts = await processes[n % 2].open(run, working, assistant=True)
        assert message_ts is not None
        runs.append(replace(run, message_ts=message_ts))
    for n, run in enumerate(runs):
        done = RunView(run_id=n, state="completed", requester="U0001", instruction="q", text="a")
        assert await processes[n % 2].finish(run, done) == "streamed"
    for streams in processes:
        await streams.aclose()
    sent = status_calls(slack)
    assert sent and [call["ok"] for call in sent] == [True] * len(sent)  # no 429
    for run in runs:  # a status shown was cleared
        shown = [c["args"]["status"] for c in sent if c["args"]["thread_ts"] == run.thread_ts]
        assert shown[-1:] in ([""], [])
