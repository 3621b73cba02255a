"""Restart recovery in the core, against the Handinger emulator: which turn a run is, whether
its request reached Handinger, and where its message is, decided from what the store recorded
before the app stopped."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from bot.core.resume import KEY_LIFETIME
from bot.core.runner import Runner
from bot.handinger import HandingerClient, Worker
from bot.slack.wording import failure_text
from bot.store import Run, Store
from tests.runner_helpers import RecordingSurface, make_runner

HANDINGER_ARGS = ["--turn-seconds", "0.5", "--chunks", "10"]


async def idle(client: HandingerClient, worker_id: str, turns: int) -> Worker:
    for _ in range(400):
        worker = await client.get_worker(worker_id)
        users = [m for m in worker.messages if isinstance(m, dict) and m.get("role") == "user"]
        if not worker.is_running and len(users) >= turns:
            return worker
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not finish")


def answers(worker: Worker) -> list[str]:
    return [
        "".join(p["text"] for p in m["parts"] if p.get("type") == "text")
        for m in worker.messages
        if isinstance(m, dict) and m.get("role") == "assistant"
    ]


async def add_run(store: Store, kind: str, **changes: object) -> Run:
    run = await store.add_run(
        team_id="T1",
        channel_id="C1",
        kind="new" if kind == "new" else "continue",
        input=str(changes.pop("input", "hello")),
        budget="standard",
        user_id="U1",
        status="starting",
        thread_ts="7.7",
        worker_id=changes.pop("worker_id", None),  # type: ignore[arg-type]
    )
    return await store.update_run(run.id, **changes) if changes else run


def continues(client: HandingerClient) -> list[dict[str, object]]:
    log = httpx.get(str(client.base_url) + "_emulator/requests").json()
    return [r for r in log if r["method"] == "POST" and r["path"].count("/") == 3]


async def continue_sent_before_the_stop(
    tmp_path: Path, handinger: HandingerClient, text: str
) -> tuple[Worker, Run]:
    """A worker with one finished turn, and a follow-up the stopped app recorded as sent."""
    first = await handinger.create_worker("first question")
    await idle(handinger, first.id, 1)
    store = Store(tmp_path / "state.db")
    run = await add_run(
        store,
        "continue",
        input=text,
        worker_id=first.id,
        message_ts="7.8",
        messages_before=2,
        request_sent_at=time.time(),
    )
    await store.close()
    return first, run


async def restarted(
    tmp_path: Path, handinger: HandingerClient, surface: RecordingSurface
) -> tuple[Runner, int]:
    """The app back on the same state: it recovers (how many runs were in flight is returned)
    and sees every run through."""
    runner = make_runner(tmp_path, handinger, surface)
    recovered = await runner.recover()
    await asyncio.wait_for(runner.wait_idle(), 20)
    return runner, recovered


@pytest.mark.parametrize("later_turn", [False, True])
async def test_a_follow_up_that_finished_while_down_shows_its_own_answer(
    tmp_path: Path, handinger: HandingerClient, later_turn: bool
) -> None:
    first, run = await continue_sent_before_the_stop(tmp_path, handinger, "follow-up")
    # The stopped app's continue reached Handinger; the turn ended while the app was down.
    await handinger.continue_worker(first.id, "follow-up")
    await idle(handinger, first.id, 2)
    if later_turn:  # and a schedule fired after it
        await handinger.continue_worker(first.id, "scheduled")
    worker = await idle(handinger, first.id, 3 if later_turn else 2)
    surface = RecordingSurface()
    _, recovered = await restarted(tmp_path, handinger, surface)
    assert recovered == 1
    [final] = surface.finals[run.id]
    assert final.state == "completed"
    assert final.text == answers(worker)[1] and final.text != answers(worker)[0]
    assert len(continues(handinger)) == (2 if later_turn else 1)  # nothing sent again
    assert surface.opened == [] and surface.searched == []


async def test_a_continue_that_never_arrived_is_sent_with_its_key(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    first, run = await continue_sent_before_the_stop(tmp_path, handinger, "lost on the way")
    surface = RecordingSurface()
    await restarted(tmp_path, handinger, surface)
    worker = await handinger.get_worker(first.id)
    [final] = surface.finals[run.id]
    assert final.state == "completed" and final.text == answers(worker)[1]
    [sent] = continues(handinger)
    assert sent["idempotency_key"] == run.ref and sent["body"]["input"] == "lost on the way"  # type: ignore[index]


@pytest.mark.parametrize("case", ["legacy", "expired"])
async def test_a_create_that_cannot_be_resent_safely_is_abandoned_with_a_word(
    tmp_path: Path, handinger: HandingerClient, case: str
) -> None:
    store = Store(tmp_path / "state.db")
    run = await add_run(
        store, "new", message_ts="7.7", request_sent_at=time.time() - KEY_LIFETIME - 1
    )
    if case == "legacy":  # sent by a version without keys
        await store.db.execute(
            "UPDATE runs SET ref = NULL, request_sent_at = ? WHERE id = ?", [time.time(), run.id]
        )
    await store.close()
    surface = RecordingSurface()
    await restarted(tmp_path, handinger, surface)
    [final] = surface.finals[run.id]
    assert final.state == "failed" and final.error
    assert "send the instruction again" in failure_text(final.error)
    assert httpx.get(str(handinger.base_url) + "_emulator/requests").json() == []


async def test_a_message_posted_before_the_restart_is_taken_over(
    tmp_path: Path, handinger: HandingerClient
) -> None:
    store = Store(tmp_path / "state.db")
    posted = await add_run(store, "new", input="posted, ts lost")
    not_posted = await add_run(store, "new", input="never posted")
    await store.close()
    surface = RecordingSurface()
    assert posted.ref is not None
    surface.posted[posted.ref] = "9.9"
    runner, _ = await restarted(tmp_path, handinger, surface)
    assert sorted(surface.searched) == [posted.id, not_posted.id]
    assert surface.opened == [not_posted.id]
    assert (await runner.store.get_run(posted.id)).message_ts == "9.9"
    assert [v.state for v in surface.finals[posted.id]] == ["completed"]
