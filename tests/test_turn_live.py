"""A turn's live answer costs each stream event the length of its delta, not of the answer.

Through the real `Turn`, `SlackSurface` (the edit scheduler, or native streaming) and the Slack
emulator: a view of the run is built only when an edit or append is sent. Each stream event used
to build one, reading the whole answer so far, after appending to it with `str +=`, which copied
it: quadratic in a long answer (800 KB in small deltas took 12-24 s of event loop, during which
every other run in the process waited). Counted, not timed.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.context import RunnerPolicy, TurnContext
from bot.core.progress import TurnProgress
from bot.core.turn import Turn
from bot.core.views import RunView, build_view
from bot.handinger import HandingerClient
from bot.handinger.events import Started, StreamEvent, TextDelta
from bot.slack.publisher import SlackSurface
from bot.slack.streaming import NativeStreams
from bot.store import Store
from emulators.harness import Child
from tests.slack_emulator import bot_clients, emulator, fresh_control, seeded_run, web_client

EVENTS = 5_000
DELTA = "a "
"""5,000 deltas of 2 characters: 10,000 characters, within what one stream shows."""


@pytest.fixture(scope="module")
def slack() -> Iterator[Child]:
    with emulator() as server:
        yield server


async def stream() -> AsyncIterator[StreamEvent]:
    yield Started(worker_id="w1")
    for number in range(1, EVENTS + 1):
        yield TextDelta(DELTA)
        if number % 250 == 0:
            await asyncio.sleep(0.01)  # the stream's pauses: the surface may send meanwhile


async def in_assistant_pane(team: str, channel: str, thread_ts: str) -> bool:
    return True


@pytest.mark.parametrize("mode", ["edited", "streamed", "assistant"])
async def test_views_are_built_for_what_is_sent_not_for_each_stream_event(
    slack: Child, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """`assistant`: an edited answer in the assistant pane, whose thread status is set too."""
    builds: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> RunView:
        view = build_view(*args, **kwargs)
        builds.append(len(view.text))
        return view

    monkeypatch.setattr("bot.core.turn.build_view", counted)
    control = fresh_control(slack, rate_limits=False)
    clients = bot_clients(slack.url)
    streamed = mode == "streamed"
    surface = SlackSurface(
        clients,
        streams=NativeStreams(clients) if streamed else None,
        is_assistant=in_assistant_pane if mode == "assistant" else None,
    )
    surface.statuses.interval = 600.0  # one status per round: the opening one, then cleared
    store = Store(tmp_path / "state.db")
    root = str(web_client(slack).chat_postMessage(channel="C0001", text="q")["ts"])
    run = await seeded_run(
        store,
        trigger_ts=root if streamed else None,
        thread_ts=root if mode != "edited" else None,
    )
    handinger = HandingerClient("unused", "http://127.0.0.1:9")  # the stream is given here
    policy = RunnerPolicy(tick=600.0)  # no status ticks: every send shows new text
    ctx = TurnContext(store, handinger, surface, None, policy, time.monotonic, asyncio.sleep)
    turn = Turn(ctx, run, time.monotonic(), None)
    try:
        await turn.ensure_message()
        await turn.relay(stream())
        await surface.finish(turn.run, turn.view("completed"))
    finally:
        await surface.aclose()
        await handinger.aclose()
        await store.close()
    if streamed:
        sends = len(control.calls(method="chat.appendStream"))
        assert len(control.calls(method="chat.stopStream")) == 1
    else:
        sends = len(control.calls(method="chat.update")) - 1  # less the final edit
    statuses = len(control.calls(method="assistant.threads.setStatus"))
    assert sends >= 1  # the answer was shown while it streamed
    assert (statuses >= 1) == (mode == "assistant")  # (at least) cleared
    # one per edit, append or status sent, the first message's and the final's
    assert len(builds) <= sends + statuses + 2
    assert builds[-1] == EVENTS * len(DELTA)


def allocated_per_delta(progress: TurnProgress, deltas: list[TextDelta]) -> int:
    """The memory each delta needed while it was applied (its peak), summed over the deltas."""
    total = 0
    tracemalloc.start()
    try:
        for delta in deltas:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            progress.apply(delta)
            total += tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return total


def test_a_delta_costs_its_own_length_not_the_answers() -> None:
    deltas = [TextDelta(f"{number:07d} ") for number in range(10_000)]
    chars = sum(len(d.text) for d in deltas)  # 80,000
    progress = TurnProgress()
    # Under 1 KB a delta whatever the answer's length (a copy of it would average 40 KB).
    assert allocated_per_delta(progress, deltas) < 1_000 * len(deltas)
    assert progress.text == "".join(d.text for d in deltas)
    assert progress.text_chars == chars
    progress.resubscribed()  # a new stream replays the answer from its start, then goes on
    more = [TextDelta(f"{number:07d} ") for number in range(10_000, 12_000)]
    assert allocated_per_delta(progress, [*deltas, *more]) < 1_000 * (len(deltas) + len(more))
    assert progress.text == "".join(d.text for d in [*deltas, *more])
