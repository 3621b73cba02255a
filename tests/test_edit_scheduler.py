"""The edit scheduler, driven with an injected clock (plain numbers) and then for real."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Hashable

import pytest

from bot.slack.edit_lane import EditLane, EditPolicy, Send, Wait
from bot.slack.edit_scheduler import EditScheduler, RateLimited, Unchanged
from bot.slack.streaming import APPEND_POLICY

POLICY = EditPolicy(interval=1.0, per_minute=45, burst=5, max_in_flight=4)


def drain(lane: EditLane[str, str], now: float) -> list[Send[str, str]]:
    """Everything the lane would send at `now`, each acknowledged at once."""
    sent: list[Send[str, str]] = []
    while isinstance(decision := lane.next(now), Send):
        sent.append(decision)
        lane.sent(decision.key, now)
    return sent


async def test_only_the_newest_content_is_sent() -> None:
    loop = asyncio.get_running_loop()
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    futures = [loop.create_future() for _ in range(3)]
    for i, future in enumerate(futures):
        lane.offer("a", f"v{i}", final=False, now=0, waiter=future)
    assert [s.payload for s in drain(lane, 0)] == ["v2"]
    assert all(f.done() and f.exception() is None for f in futures)


def test_one_edit_per_message_per_interval() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    lane.offer("a", "1", final=False, now=0)
    assert len(drain(lane, 0)) == 1
    lane.offer("a", "2", final=False, now=0.1)
    assert lane.next(0.1) == Wait(1.0)
    assert [s.payload for s in drain(lane, 1.0)] == ["2"]


def test_final_edits_skip_the_interval_and_go_first() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    lane.offer("a", "a1", final=False, now=0)
    drain(lane, 0)
    lane.offer("b", "b-progress", final=False, now=0.2)
    lane.offer("a", "a-final", final=True, now=0.3)
    first = lane.next(0.3)
    assert isinstance(first, Send) and first.payload == "a-final" and first.final


def test_budget_is_never_exceeded_in_any_minute_and_shared_fairly() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    keys = [f"m{i}" for i in range(10)]
    sends: list[tuple[float, Hashable]] = []
    now = 0.0
    while now < 300:
        for key in keys:  # every message always has something new to show
            lane.offer(key, f"{key}@{now}", final=False, now=now)
        for send in drain(lane, now):
            sends.append((now, send.key))
        now = round(now + 0.05, 2)
    times = [t for t, _ in sends]
    for start in range(0, 240):
        in_window = [t for t in times if start <= t < start + 60]
        assert len(in_window) <= 45, start
    per_message = Counter(key for _, key in sends)
    assert max(per_message.values()) - min(per_message.values()) <= 1
    # the budget is used, not wasted: 45 a minute less the 10 kept for the messages' finals
    assert len(sends) >= 5 * 35


def test_a_429_pauses_the_workspace_and_loses_nothing() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    lane.offer("a", "a1", final=False, now=0)
    lane.offer("b", "b1", final=True, now=0)
    first = lane.next(0)
    assert isinstance(first, Send) and first.key == "b"
    lane.rate_limited("b", retry_after=10, now=0.5)
    assert lane.next(1) == Wait(10.5)
    assert lane.next(10) == Wait(10.5)
    retried = drain(lane, 12)
    assert (retried[0].key, retried[0].payload) == ("b", "b1")
    assert {s.key for s in retried} == {"a", "b"}


async def test_newer_content_replaces_a_rate_limited_edit() -> None:
    loop = asyncio.get_running_loop()
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    old, new = loop.create_future(), loop.create_future()
    lane.offer("a", "old", final=False, now=0, waiter=old)
    assert isinstance(lane.next(0), Send)
    lane.offer("a", "new", final=True, now=0.1, waiter=new)
    lane.rate_limited("a", retry_after=2, now=0.2)
    assert [s.payload for s in drain(lane, 5)] == ["new"]
    assert old.done() and new.done()


async def test_failures_are_retried_after_a_growing_wait_then_reported() -> None:
    loop = asyncio.get_running_loop()
    policy = EditPolicy(max_attempts=3, retry_initial=1.0, retry_max=1.5)
    lane: EditLane[str, str] = EditLane(policy, now=0)
    future = loop.create_future()
    lane.offer("a", "x", final=True, now=0, waiter=future)
    assert isinstance(lane.next(0), Send)
    lane.failed("a", RuntimeError("flaky"), retry=True, now=0)
    assert lane.next(0.5) == Wait(1.0)  # even a final edit waits out its backoff
    assert isinstance(lane.next(1.0), Send)
    lane.failed("a", RuntimeError("flaky again"), retry=True, now=1.0)
    assert lane.next(2.0) == Wait(2.5)  # 2 s, capped at 1.5 s
    assert isinstance(lane.next(2.5), Send)
    lane.failed("a", RuntimeError("still broken"), retry=True, now=2.5)
    assert lane.next(100) == Wait(None)
    with pytest.raises(RuntimeError, match="still broken"):
        future.result()


async def test_a_failure_not_worth_retrying_is_reported_at_once() -> None:
    future = asyncio.get_running_loop().create_future()
    lane: EditLane[str, str] = EditLane(EditPolicy(), now=0)
    lane.offer("a", "x", final=True, now=0, waiter=future)
    assert isinstance(lane.next(0), Send)
    lane.failed("a", RuntimeError("message_not_found"), retry=False, now=0)
    with pytest.raises(RuntimeError, match="message_not_found"):
        future.result()


def test_newer_content_keeps_the_backoff_of_a_failed_edit() -> None:
    lane: EditLane[str, str] = EditLane(EditPolicy(retry_initial=4.0), now=0)
    lane.offer("a", "first", final=False, now=0)
    assert isinstance(lane.next(0), Send)
    lane.failed("a", RuntimeError("503"), retry=True, now=0)
    lane.offer("a", "second", final=False, now=1)
    assert lane.next(1) == Wait(4.0)  # no hammering a failing Slack with every new token
    sent = lane.next(4.0)
    assert isinstance(sent, Send) and sent.payload == "second"


def test_in_flight_limit_and_one_edit_per_message_at_a_time() -> None:
    lane: EditLane[str, str] = EditLane(EditPolicy(max_in_flight=2, burst=10), now=0)
    for key in "abc":
        lane.offer(key, key, final=True, now=0)
    first, second = lane.next(0), lane.next(0)
    assert isinstance(first, Send) and isinstance(second, Send)
    assert lane.next(0) == Wait(None)
    lane.offer(first.key, "again", final=True, now=0)
    lane.sent(second.key, 0)
    third = lane.next(0)
    assert isinstance(third, Send) and third.key == "c"  # `first` is still in flight


async def test_scheduler_delivers_every_final_despite_429s() -> None:
    calls: list[tuple[Hashable, str, bool]] = []
    limited = {"left": 3}

    async def sender(key: Hashable, payload: str, final: bool) -> None:
        await asyncio.sleep(0)
        if limited["left"] and not final:
            limited["left"] -= 1
            raise RateLimited(0.01)
        calls.append((key, payload, final))

    policy = EditPolicy(interval=0.005, per_minute=60_000, burst=20)
    scheduler: EditScheduler[str, str] = EditScheduler(sender, policy)
    for step in range(20):
        for key in ("x", "y", "z"):
            scheduler.update("T1", key, f"{key}{step}")
        await asyncio.sleep(0.001)
    finals = [scheduler.finish("T1", key, f"{key}-final") for key in ("x", "y", "z")]
    await asyncio.wait_for(asyncio.gather(*finals), 10)
    await scheduler.aclose()
    for key in ("x", "y", "z"):
        mine = [payload for k, payload, _ in calls if k == key]
        assert mine[-1] == f"{key}-final"
        steps = [int(p[1:]) for p in mine[:-1]]
        assert steps == sorted(steps)  # never an older text after a newer one


async def test_scheduler_reports_permanent_failures() -> None:
    async def sender(key: Hashable, payload: str, final: bool) -> None:
        raise ValueError("message_not_found")

    scheduler: EditScheduler[str, str] = EditScheduler(sender)
    with pytest.raises(ValueError, match="message_not_found"):
        await asyncio.wait_for(scheduler.finish("T1", "k", "text"), 5)
    await scheduler.aclose()


def test_finals_go_out_in_the_order_they_were_finished() -> None:
    lane: EditLane[str, str] = EditLane(EditPolicy(burst=1, per_minute=60), now=0)
    lane.offer("early-talker", "p", final=False, now=0)
    drain(lane, 0)  # it has just been edited, so its last_sent_at is recent
    lane.offer("quiet", "q-final", final=True, now=5)
    lane.offer("early-talker", "e-final", final=True, now=6)
    order: list[str] = []
    now = 6.0
    while len(order) < 2:
        decision = lane.next(now)
        if isinstance(decision, Send):
            order.append(decision.key)
            lane.sent(decision.key, now)
        now += 0.5
    assert order == ["quiet", "early-talker"]


def test_first_words_then_more_words_then_status_whoever_waited_longer() -> None:
    lane: EditLane[str, str] = EditLane(EditPolicy(burst=10, reserves=(0, 0, 0, 0)), now=0)
    for key in ("status", "more", "first"):
        lane.offer(key, f"{key}-0", final=False, now=0, text_chars=5 if key == "more" else 0)
    drain(lane, 0)  # "more" shows 5 characters now; the others show none
    lane.offer("status", "tick", final=False, now=2, text_chars=0)
    lane.offer("more", "longer", final=False, now=3, text_chars=9)
    lane.offer("first", "hello", final=False, now=4, text_chars=3)
    assert [s.key for s in drain(lane, 5)] == ["first", "more", "status"]


def test_status_edits_leave_tokens_for_finals_and_first_words() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)  # burst 5, reserves (0, 0, 1, 2)
    for i in range(8):
        lane.offer(f"s{i}", "working… 5 s", final=False, now=0)
    assert len(drain(lane, 0)) == 3  # two tokens stay in the bucket
    lane.offer("a", "first words", final=False, now=0, text_chars=11)
    lane.offer("b", "done", final=True, now=0)
    assert [s.key for s in drain(lane, 0)] == ["b", "a"]
    assert isinstance(lane.next(0), Wait)


def test_more_words_wait_for_a_spare_token_that_first_words_do_not_need() -> None:
    lane: EditLane[str, str] = EditLane(
        EditPolicy(burst=2, per_minute=60, reserves=(0, 0, 1, 2)), now=0
    )
    lane.offer("old", "abc", final=False, now=0, text_chars=3)
    drain(lane, 0)  # one of the two tokens is spent
    lane.offer("old", "abcdef", final=False, now=1.5, text_chars=6)
    lane.offer("new", "x", final=False, now=1.5, text_chars=1)
    sent = lane.next(1.5)
    assert isinstance(sent, Send) and sent.key == "new"  # refilled to 2, 1 spent
    lane.sent("new", 1.5)
    assert lane.next(1.5) == Wait(2.5)  # "old" needs 2 tokens in the bucket: it has 1


def test_a_reserve_larger_than_the_burst_cannot_block_a_lane() -> None:
    lane: EditLane[str, str] = EditLane(EditPolicy(burst=1, per_minute=60), now=0)
    lane.offer("a", "status", final=False, now=0)
    assert [s.key for s in drain(lane, 0)] == ["a"]
    lane.offer("a", "status again", final=False, now=2)
    assert [s.key for s in drain(lane, 2)] == ["a"]


def test_words_already_shown_do_not_count_as_news() -> None:
    lane: EditLane[str, str] = EditLane(EditPolicy(burst=10, reserves=(0, 0, 0, 0)), now=0)
    lane.offer("a", "hello", final=False, now=0, text_chars=5)
    lane.offer("b", "hi", final=False, now=0, text_chars=2)
    drain(lane, 0)
    lane.offer("a", "hello · 5 s", final=False, now=2, text_chars=5)  # a tick, no new words
    lane.offer("b", "hi there", final=False, now=3, text_chars=8)
    assert [s.key for s in drain(lane, 4)] == ["b", "a"]


async def test_closing_right_after_an_update_does_not_hang() -> None:
    """A wake-up and a cancel in the same tick: `asyncio.wait_for` (3.11) can swallow such a
    cancel, which left the lane running and `aclose` waiting forever."""
    sent: list[str] = []

    async def sender(key: Hashable, payload: str, final: bool) -> None:
        sent.append(payload)

    for _ in range(20):
        scheduler: EditScheduler[str, str] = EditScheduler(
            sender, EditPolicy(burst=1, per_minute=1)
        )
        scheduler.update("T1", "a", "first")
        await asyncio.sleep(0.01)  # sent
        scheduler.update("T1", "a", "second")
        await asyncio.sleep(0.01)  # the lane now waits, with a timeout, for a token
        scheduler.update("T1", "a", "third")  # wakes the lane ...
        await asyncio.wait_for(scheduler.aclose(), 2)  # ... and cancels it in the same tick
    assert sent == ["first"] * 20


async def test_an_unchanged_edit_costs_no_token_and_keeps_the_interval_open() -> None:
    loop = asyncio.get_running_loop()
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    waiter = loop.create_future()
    lane.offer("a", "same", final=False, now=0, waiter=waiter)
    send = lane.next(0)
    assert isinstance(send, Send)
    lane.unchanged("a")  # the sender found the message already shows it
    assert waiter.done() and waiter.exception() is None
    assert lane.tokens == POLICY.burst
    lane.offer("a", "new", final=False, now=0.1)
    assert [s.payload for s in drain(lane, 0.1)] == ["new"]  # no interval to wait out


async def test_the_scheduler_settles_an_edit_its_sender_found_unchanged() -> None:
    sent: list[str] = []

    async def sender(key: Hashable, payload: str, final: bool) -> None:
        if payload == "shown":
            raise Unchanged()
        sent.append(payload)

    scheduler: EditScheduler[str, str] = EditScheduler(sender, POLICY)
    await asyncio.wait_for(scheduler.finish("T", "a", "shown"), 5)
    await asyncio.wait_for(scheduler.finish("T", "a", "final"), 5)
    await scheduler.aclose()
    assert sent == ["final"]


def stream_then_finish(
    lane: EditLane[str, str], runs: int, turn: float
) -> tuple[dict[str, float], list[float]]:
    """`runs` messages show new words every 0.5 s for `turn` s, then finish 0.1 s apart; every
    send is answered at once. Returns how long each final waited after falling due, and when
    each edit was sent."""
    keys = [f"m{i}" for i in range(runs)]
    due: dict[str, float] = {}
    waited: dict[str, float] = {}
    times: list[float] = []
    now = 0.0
    while len(waited) < runs:
        for index, key in enumerate(keys):
            ends = turn + index * 0.1
            if now < ends and round(now * 2) == now * 2:  # a delta every 0.5 s
                lane.offer(key, f"{key}@{now}", final=False, now=now, text_chars=int(now * 10) + 1)
            elif now >= ends and key not in due:
                due[key] = now
                lane.offer(key, f"{key}: done", final=True, now=now)
        for send in drain(lane, now):
            times.append(now)
            if send.final:
                waited[send.key] = now - due[send.key]
                lane.forget(send.key)
        now = round(now + 0.05, 2)
    return waited, times


@pytest.mark.parametrize("turn", [20.0, 90.0])
def test_finals_go_out_within_one_token_interval_of_falling_due(turn: float) -> None:
    """Ten answers streaming together end within a second: each final is sent within one
    token interval (60 / 45 s) of falling due, because progress edits left room for them in
    Slack's per-minute allowance (after 90 s of streaming too, when the window is full)."""
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    waited, times = stream_then_finish(lane, runs=10, turn=turn)
    assert max(waited.values()) <= 60 / POLICY.per_minute
    for start in times:  # and never more than the allowance in any minute
        assert sum(1 for t in times if start <= t < start + 60) <= POLICY.per_minute


def test_room_is_kept_for_the_final_of_each_message_still_streaming() -> None:
    lane: EditLane[str, str] = EditLane(POLICY, now=0)
    for key in ("a", "b", "c"):
        lane.offer(key, f"{key} words", final=False, now=0, text_chars=5)
    drain(lane, 0)
    assert lane.reserved_for_finals(0) == 3
    lane.offer("a", "a: done", final=True, now=1)
    assert [s.key for s in drain(lane, 1)] == ["a"]
    lane.forget("a")
    assert lane.reserved_for_finals(1) == 2
    # "b" and "c" stopped without a final (their run ended elsewhere): after a window
    # without news they no longer hold room
    assert lane.reserved_for_finals(60.5) == 0
    for index in range(40):
        lane.offer(f"m{index}", "x", final=False, now=61)
    assert lane.reserved_for_finals(61) == 22  # at most half of the 45 a minute


def test_a_reserve_as_large_as_the_allowance_cannot_block_progress() -> None:
    lane: EditLane[str, str] = EditLane(EditPolicy(per_minute=2, final_share=1.0), now=0)
    lane.offer("a", "a", final=False, now=0)
    lane.offer("b", "b", final=False, now=0)
    assert len(drain(lane, 0)) == 1  # one call is left for a final, not both


def test_when_finals_queue_an_empty_message_gets_its_final_first() -> None:
    """Its final is also its first words; a message that shows some answer already can wait."""
    lane: EditLane[str, str] = EditLane(EditPolicy(per_minute=2), now=0)
    lane.offer("talker", "some words", final=False, now=0, text_chars=10)
    lane.offer("empty", "working…", final=False, now=0)
    assert [s.key for s in drain(lane, 0)] == ["talker"]  # the other call is kept for a final
    lane.offer("talker", "talker: done", final=True, now=1)
    lane.offer("empty", "empty: done", final=True, now=2)
    assert [s.key for s in drain(lane, 2)] == ["empty"]  # the talker's final waits a minute


def test_a_lane_without_final_edits_keeps_no_room_for_them() -> None:
    """Native-stream appends end with `chat.stopStream`, outside their lane: nothing to keep."""
    lane: EditLane[str, str] = EditLane(APPEND_POLICY, now=0)
    for index in range(10):
        lane.offer(f"s{index}", "words", final=False, now=0, text_chars=5)
    assert lane.reserved_for_finals(0) == 0
