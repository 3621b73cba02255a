"""End to end (issue 15): a Slack request the app acknowledged is done exactly once even when
its process is SIGKILLed before the work was recorded. Slack never sends an acknowledged
request again, so the request is written to the database before the ack (the inbox), and a
live process takes over one whose owner died once its lease expires.

The window is made observable with the Slack emulator alone: a mention inside a thread makes
the app read the thread first (`conversations.replies`), after the ack and before the run is
recorded; the emulator holds that call's answer, the process is killed while it waits, and
another process starts on the same database."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.credentials import SIGNING_SECRET
from emulators.harness import free_port
from tests.e2e import Stack, is_final, wait_until

LEASE = "3"


@pytest.fixture(params=["socket-sqlite", "http-postgresql"])
def setup(request: pytest.FixtureRequest, idle_stack: Stack) -> tuple[Stack, str]:
    mode, engine = str(request.param).split("-")
    if engine == "postgresql":
        idle_stack.database_url = request.getfixturevalue("postgres_url")
    return idle_stack, mode


def start(stack: Stack, mode: str) -> None:
    """A bot process on the stack's database; in HTTP mode Slack delivers to it from now on."""
    if mode == "socket":
        stack.start_bot(HANDINGER_LEASE_SECONDS=LEASE)
        return
    port = free_port()
    stack.start_bot(
        HANDINGER_LEASE_SECONDS=LEASE,
        SLACK_APP_TOKEN="",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PORT=str(port),
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    stack.slack.post("/_emulator/config", json={"request_url": url}).raise_for_status()


def held(stack: Stack) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.slack.get("/_emulator/holds").json()["held"]
    return found


def test_a_mention_acked_before_a_kill_is_answered_once(setup: tuple[Stack, str]) -> None:
    stack, mode = setup
    start(stack, mode)
    root = stack.post("the incident of last night, in this thread")
    stack.slack.post("/_emulator/holds", json={"method": "conversations.replies"})
    stack.post("<@U0BOT> summarise this thread", thread_ts=root)
    wait_until(lambda: held(stack) or None, what="the app reading the thread")
    assert stack.bot is not None
    killed = stack.bot
    killed.kill()  # acknowledged, its thread being read, no run recorded yet
    stack.slack.delete("/_emulator/holds").raise_for_status()
    assert stack.workers() == []

    start(stack, mode)  # another process on the same database
    [reply] = stack.wait_final_reply(root, 1)
    assert reply["text"].startswith("✅"), reply["text"]
    [worker] = stack.workers()  # one worker: answered once
    assert "summarise this thread" in worker["inputs"][0]
    assert "the incident of last night" in worker["inputs"][0]  # with its thread as context
    thread = stack.message(root)
    assert thread is not None
    replies = [r for r in thread.get("replies", []) if r.get("bot_id")]
    assert len(replies) == 1 and sum(1 for r in replies if is_final(r)) == 1, replies
    bot = stack.bot
    assert bot is not None
    assert "Traceback" not in "\n".join(bot.output), "\n".join(bot.output[-60:])
