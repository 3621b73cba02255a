"""End to end: what Slack refuses (an archived channel, a scope the workspace did not grant) is
explained in plain words, and the run is recorded failed with that reason; nothing stays
working."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.e2e import Stack, wait_until
from tests.schedules import FAST_CHECKS, advance, digests


def runs(stack: Stack) -> list[dict[str, Any]]:
    with sqlite3.connect(stack.tmp / "bot.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM runs ORDER BY id")]


def failed_with(stack: Stack, *needles: str, kind: str | None = None) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for run in runs(stack):
            error = str(run["error"] or "")
            if (
                run["status"] == "failed"
                and (kind is None or run["kind"] == kind)
                and all(n in error for n in needles)
            ):
                return run
        return None

    return wait_until(found, what=f"a failed run saying {needles}")


def told(stack: Stack, *needles: str) -> list[dict[str, Any]]:
    return wait_until(
        lambda: [e for e in stack.ephemeral() if all(n in str(e) for n in needles)],
        what=f"an ephemeral saying {needles}",
    )


def archive(stack: Stack, channel: str = "C0001") -> None:
    stack.slack.post(f"/_emulator/channels/{channel}/archive", json={}).raise_for_status()


def no_traceback(stack: Stack) -> None:
    assert stack.bot is not None
    output = "\n".join(stack.bot.output)
    assert "Traceback" not in output, output[-3000:]


def test_a_scope_the_workspace_did_not_grant_is_named_for_the_admin(idle_stack: Stack) -> None:
    granted = idle_stack.slack.get("/_emulator/workspaces").json()["workspaces"][0]["bot_scopes"]
    without = [s for s in granted if s != "chat:write"]
    idle_stack.slack.post("/_emulator/scopes", json={"scopes": without}).raise_for_status()
    idle_stack.start_bot()
    idle_stack.slash("hello there")
    told(idle_stack, "`chat:write`", "admin", "reinstall")
    failed_with(idle_stack, "missing_scope", "chat:write")
    assert idle_stack.workers() == []  # Handinger was never asked
    no_traceback(idle_stack)


def test_a_channel_archived_during_a_run_fails_the_run_plainly(stack: Stack) -> None:
    stack.slash("take your time [[duration=4]]")
    wait_until(lambda: stack.bot_messages(), what="the card")
    archive(stack)
    run = failed_with(stack, "archived")
    assert run["kind"] == "new"
    told(stack, "archived while I was working")
    assert all(r["status"] not in ("starting", "running", "queued") for r in runs(stack))
    no_traceback(stack)


def test_a_digest_for_an_archived_channel_is_recorded_failed(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(**FAST_CHECKS)
    stack.slash("schedule every 1h summarise the incidents")
    # the digest's card is posted before Handinger is asked for the worker
    [worker] = wait_until(lambda: digests(stack) and stack.workers(), what="the first digest")
    wait_until(lambda: not stack.worker(worker["id"])["running"], what="an idle worker")
    archive(stack)
    advance(stack, 3601)
    run = failed_with(stack, "is_archived", kind="digest")
    assert run["message_ts"] is None
    assert len(digests(stack)) == 1
    no_traceback(stack)


def test_a_follow_up_queued_when_its_channel_is_archived_fails_plainly(stack: Stack) -> None:
    stack.slash("first [[duration=1]]")
    [card] = stack.wait_final_card()
    stack.post("and now a long one [[duration=4]]", thread_ts=card["ts"])

    def bot_reply() -> bool:
        replies = (stack.message(card["ts"]) or {}).get("replies", [])
        return any(r.get("bot_id") for r in replies)

    wait_until(bot_reply, what="the second turn's reply")
    stack.post("queued behind it", thread_ts=card["ts"])
    wait_until(lambda: len(runs(stack)) == 3, what="the queued run")
    archive(stack)
    running = failed_with(stack, "is_inactive", "archived while I was working")
    assert running["input"].startswith("and now a long one")
    queued = failed_with(stack, "is_archived", "channel is archived")
    assert queued["kind"] == "continue" and queued["input"] == "queued behind it"
    assert all(r["status"] not in ("starting", "running", "queued") for r in runs(stack))
    no_traceback(stack)
