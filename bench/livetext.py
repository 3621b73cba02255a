"""`python -m bench.livetext`: the event-loop time a long answer's live text costs.

One turn streams an answer of `--chars` characters in `--chunk`-character deltas through the
real `Turn`, its `TurnProgress` and `SlackSurface` (the edit scheduler, or with `--streamed`
native streaming) against the Slack emulator; the deltas arrive `--batch` at a time, as one
socket read would give them, and the event loop is free between reads. Measured in this
process: the event-loop time the relay held (the sum of every batch's processing), the
longest a batch held it (what every other run in the process waited), this process's CPU time
and the Slack calls made. The answer's final message is not part of it.

    python -m bench.livetext                      # 800 KB in 8-character deltas, edited
    python -m bench.livetext --streamed --chars 400000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bot.core.context import RunnerPolicy, TurnContext
from bot.core.turn import Turn
from bot.handinger import HandingerClient
from bot.handinger.events import Started, StreamEvent, TextDelta
from bot.slack.publisher import SlackSurface
from bot.slack.streaming import NativeStreams
from bot.store import Store
from emulators.credentials import TEAM
from emulators.harness import SLACK, running
from tests.slack_emulator import bot_clients, seeded_run

CHANNEL = "C0001"


class Stream:
    """The turn's events, `batch` deltas per loop turn; times each batch's processing."""

    def __init__(self, chars: int, chunk: int, batch: int) -> None:
        self.chars, self.chunk, self.batch = chars, chunk, batch
        self.held: list[float] = []

    async def events(self) -> AsyncIterator[StreamEvent]:
        yield Started(worker_id="w-bench")
        piece = ("lorem ipsum dolor sit amet " * (self.chunk // 27 + 1))[: self.chunk]
        began = time.perf_counter()
        for sent in range(self.chars // self.chunk):
            yield TextDelta(piece)
            if (sent + 1) % self.batch == 0:
                self.held.append(time.perf_counter() - began)
                await asyncio.sleep(0)  # the next socket read: the loop runs everything else
                began = time.perf_counter()
        self.held.append(time.perf_counter() - began)


async def measure(url: str, chars: int, chunk: int, batch: int, streamed: bool) -> dict[str, Any]:
    """One turn's relay against the Slack emulator at `url`."""
    with tempfile.TemporaryDirectory() as work:
        store = Store(Path(work) / "state.db")
        clients = bot_clients(url)
        surface = SlackSurface(clients, streams=NativeStreams(clients) if streamed else None)
        handinger = HandingerClient("unused", "http://127.0.0.1:9")  # the stream is made here
        root = None
        if streamed:
            posted = await clients.client_for(TEAM)
            root = str((await posted.chat_postMessage(channel=CHANNEL, text="q"))["ts"])
        run = await seeded_run(
            store, input="Write a very long answer", trigger_ts=root, thread_ts=root
        )
        ctx = TurnContext(
            store, handinger, surface, None, RunnerPolicy(), time.monotonic, asyncio.sleep
        )
        turn = Turn(ctx, run, time.monotonic(), None)
        stream = Stream(chars, chunk, batch)
        try:
            await turn.ensure_message()
            cpu, wall = time.process_time(), time.perf_counter()
            await turn.relay(stream.events())
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            await asyncio.sleep(1.5)  # the last progress edit or append goes out (not measured)
        finally:
            await surface.aclose()
            await handinger.aclose()
            await store.close()
    return {
        "chars": chars,
        "chunk": chunk,
        "events": chars // chunk,
        "batch": batch,
        "streamed": streamed,
        "loop_held_s": round(sum(stream.held), 3),
        "longest_hold_ms": round(max(stream.held) * 1000, 1),
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
    }


def slack_calls(url: str) -> dict[str, int]:
    calls = httpx.get(url + "/_emulator/calls", timeout=30).json()["calls"]
    counts: dict[str, int] = {}
    for call in calls:
        counts[call["method"]] = counts.get(call["method"], 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.livetext", description=__doc__)
    parser.add_argument("--chars", type=int, default=800_000, help="the answer's length")
    parser.add_argument("--chunk", type=int, default=8, help="characters per delta")
    parser.add_argument("--batch", type=int, default=512, help="deltas per loop turn")
    parser.add_argument("--streamed", action="store_true", help="native streaming")
    args = parser.parse_args()
    with running(SLACK, ["--port", "0"]) as slack:
        result = asyncio.run(measure(slack.url, args.chars, args.chunk, args.batch, args.streamed))
        result["slack_calls"] = slack_calls(slack.url)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
