"""Slack's allowances shared by several processes: each process's edits and posts first take a
call from the database's window (`shared_rates.py`), so together they stay inside Slack's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.core.views import RunView
from bot.slack.clients import FixedToken, TeamClients
from bot.slack.edit_lane import EditLane, EditPolicy, Send, Wait
from bot.slack.edit_scheduler import EditScheduler
from bot.slack.pacing import ChannelPacer
from bot.slack.shared_rates import SharedRates
from bot.slack.streaming import NativeStreams
from bot.store import Run, Store
from bot.store.rates import CallTerms
from tests.stores import Backend, Clock

POLICY = EditPolicy(interval=1.0, per_minute=45, burst=5, max_in_flight=4)


def test_no_room_elsewhere_holds_progress_but_not_finals() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    lane.offer("a", "a1", final=False, now=0)
    lane.offer("b", "b1", final=False, now=0)
    first = lane.next(0)
    assert isinstance(first, Send)
    tokens = lane.tokens
    lane.postponed(first.key, 10.0)  # another process filled the workspace's window
    assert lane.tokens == tokens + 1  # nothing was spent
    assert lane.next(1) == Wait(10.0)  # neither progress edit tries before then
    lane.offer("c", "c-final", final=True, now=1)
    final = lane.next(1)
    assert isinstance(final, Send) and final.payload == "c-final"
    lane.postponed("c", 3.0)
    assert lane.next(2) == Wait(3.0)
    assert [s.payload for s in _drain(lane, 3)] == ["c-final"]
    assert {s.payload for s in _drain(lane, 10)} == {"a1", "b1"}


def test_after_a_refusal_one_progress_edit_at_a_time_asks_again() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    for key in "abc":
        lane.offer(key, f"{key}1", final=False, now=0)
    first = lane.next(0)
    assert isinstance(first, Send)
    lane.postponed(first.key, 5.0)  # the shared window is full until 5.0
    probe = lane.next(5.0)
    assert isinstance(probe, Send) and not probe.final
    assert lane.next(5.0) == Wait(None)  # the others wait for its answer, not ask too
    lane.offer("d", "d-final", final=True, now=5.0)
    final = lane.next(5.0)  # a final never waits for the probe
    assert isinstance(final, Send) and final.payload == "d-final"
    lane.sent("d", 5.0)
    lane.sent(probe.key, 5.0)  # it got through: the rest may ask again
    assert len(_drain(lane, 6.0)) == 2


def _drain(lane: EditLane[str, str], now: float) -> list[Send[str, str]]:
    sent: list[Send[str, str]] = []
    while isinstance(decision := lane.next(now), Send):
        sent.append(decision)
        lane.sent(decision.key, now)
    return sent


class Counting:
    """A store whose admitted calls are remembered with the time the database counted them at
    (the owner's newest call in the scope: one take at a time per store, `max_in_flight=1`),
    on the store's own clock: the server's on PostgreSQL."""

    def __init__(self, store: Store, admitted: list[float], asked: list[str]) -> None:
        self.store = store
        self.admitted = admitted
        self.asked = asked

    async def take_call(self, scope: str, owner: str, terms: CallTerms) -> float:
        wait = await self.store.take_call(scope, owner, terms)
        self.asked.append(scope)
        if wait == 0.0 or terms.book:
            rows = await self.store.db.fetch(
                "SELECT MAX(at) AS at FROM rate_calls WHERE scope = ? AND owner = ?",
                [scope, owner],
            )
            self.admitted.append(float(rows[0]["at"]))
        return wait

    async def pause_scope(self, scope: str, seconds: float) -> None:
        await self.store.pause_scope(scope, seconds)


async def test_two_processes_together_stay_inside_one_allowance(backend: Backend) -> None:
    policy = EditPolicy(interval=0.01, per_minute=3, window=0.3, burst=3, max_in_flight=1)
    admitted: list[float] = []
    asked: list[str] = []
    delivered: list[str] = []

    async def sender(key: str, payload: str, final: bool) -> None:
        delivered.append(payload)

    schedulers: list[EditScheduler[str, str]] = []
    for name in ("A", "B"):
        rates = SharedRates(Counting(await backend.open(), admitted, asked), name)
        schedulers.append(EditScheduler(sender, policy, gate=rates.edits("chat.update", policy)))
    finals = [
        scheduler.finish("T1", f"{name}{n}", f"{name}{n}-final")
        for name, scheduler in zip("AB", schedulers, strict=True)
        for n in range(5)
    ]
    await asyncio.wait_for(asyncio.gather(*finals), 30)
    for scheduler in schedulers:
        await scheduler.aclose()
    assert sorted(delivered) == sorted(f"{name}{n}-final" for name in "AB" for n in range(5))
    assert len(admitted) == len(delivered)  # every call was counted in the shared window
    assert len(asked) == len(delivered)  # each final booked its call: asked once
    admitted.sort()
    for i, at in enumerate(admitted):  # never more than 3 in any 0.3 s
        assert len([t for t in admitted[i:] if t < at + 0.3]) <= 3


async def test_two_processes_pace_progress_edits_as_one_process_does(backend: Backend) -> None:
    # One process's lane lets `burst` progress edits through at once, then one every
    # 60 / `per_minute` s. Two processes each had a bucket of their own, and only the
    # workspace's window (45 a minute) held them back together: more progress edits, so more
    # chat.update calls per run with replicas than with one bot.
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    for n in range(20):
        lane.offer(f"m{n}", "first words", final=False, now=0, text_chars=11)
    one_process = len(_drain(lane, 0))
    store = await backend.open()
    gates = [SharedRates(store, owner).edits("chat.update", POLICY) for owner in ("A", "B")]
    taken = 0
    for _ in range(20):
        for gate in gates:
            taken += await gate("T1", False, 0) == 0.0
    assert one_process == POLICY.burst
    assert taken == one_process
    assert await gates[0]("T1", True, 0) == 0.0  # a final does not wait for the progress pace


async def test_a_post_waits_for_its_booked_place_in_the_shared_channel_window() -> None:
    answers = [0.5]
    asked: list[tuple[str, str]] = []
    slept: list[float] = []

    async def shared(team: str, channel: str) -> float:
        asked.append((team, channel))
        return answers.pop(0)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    pacer = ChannelPacer(shared=shared, sleep=sleep)
    await pacer.wait("T1", "C1")
    assert asked == [("T1", "C1")] and slept == [0.5]  # asked once, then sent


class Refusing:
    """A shared allowance with no room left."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def take_call(self, scope: str, owner: str, terms: CallTerms) -> float:
        self.asked.append(scope)
        return 30.0

    async def pause_scope(self, scope: str, seconds: float) -> None:
        raise AssertionError("nothing was rate limited")


async def test_a_stream_is_not_started_when_the_shared_start_allowance_is_spent() -> None:
    shared = Refusing()
    streams = NativeStreams(
        TeamClients(FixedToken("xoxb-unused"), "http://127.0.0.1:9"),
        rates=SharedRates(shared, "A"),
    )
    run = Run(
        id=1, team_id="T1", channel_id="C1", thread_ts="1.0", kind="new", input="q",
        budget="low", user_id="U1", status="running", created_at=0.0, trigger_ts="1.0",
    )  # fmt: skip
    view = RunView(run_id=1, state="working", requester="U1", instruction="q", text="")
    assert await streams.open(run, view) is None  # the edited card shows it instead
    assert shared.asked == ["chat.startStream:T1"]
    await streams.aclose()


class Recording:
    """A store that remembers every take of the workspace's window: `(owner, final, wait)`
    (not the takes of the shared progress bucket that come before a progress edit's)."""

    def __init__(self, store: Store, takes: list[tuple[str, bool, float]], news: Watch) -> None:
        self.store = store
        self.takes = takes
        self.news = news

    async def take_call(self, scope: str, owner: str, terms: CallTerms) -> float:
        wait = await self.store.take_call(scope, owner, terms)
        if ":progress:" in scope:
            return wait
        self.takes.append((owner, terms.final, wait))
        self.news.changed()
        return wait

    async def pause_scope(self, scope: str, seconds: float) -> None:
        await self.store.pause_scope(scope, seconds)


class Watch:
    """Lets a test wait until what the schedulers did makes a condition true."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def changed(self) -> None:
        self._event.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self._event.clear()
            await self._event.wait()


async def test_a_final_goes_first_in_any_process_though_its_progress_was_held(
    backend: Backend,
) -> None:
    """Process A fills the shared window with progress (leaving the room of one final); B's
    progress edit is held for the window (1,000 s on the stopped clock); B's final is sent
    at once in the room left for it, and C's progress after it is held."""
    clock = Clock()
    policy = EditPolicy(interval=0.0, per_minute=3, window=1000.0, burst=5, max_in_flight=4)
    takes: list[tuple[str, bool, float]] = []
    delivered: list[str] = []
    news = Watch()

    async def sender(key: str, payload: str, final: bool) -> None:
        delivered.append(payload)
        news.changed()

    schedulers: dict[str, EditScheduler[str, str]] = {}
    for name in "ABC":
        rates = SharedRates(Recording(await backend.open(clock), takes, news), name)
        schedulers[name] = EditScheduler(
            sender, policy, clock=clock, gate=rates.edits("chat.update", policy)
        )
    a, b, c = schedulers.values()
    a.update("T1", "a1", "a1")
    a.update("T1", "a2", "a2")
    await asyncio.wait_for(news.until(lambda: len(delivered) == 2), 10)
    b.update("T1", "b1", "b1")
    await asyncio.wait_for(news.until(lambda: ("B", False, 1000.0) in takes), 10)
    await asyncio.wait_for(b.finish("T1", "b1", "b1-final"), 10)
    c.update("T1", "c1", "c1")
    await asyncio.wait_for(news.until(lambda: takes[-1][0] == "C"), 10)
    for scheduler in schedulers.values():
        await scheduler.aclose()
    assert sorted(delivered[:2]) == ["a1", "a2"] and delivered[2:] == ["b1-final"]
    assert takes[-2:] == [("B", True, 0.0), ("C", False, 1000.0)]
