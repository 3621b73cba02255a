"""End to end: Slack's agent surfaces with the bot as a real process between the emulators.

The assistant pane (greeting, suggested prompts, title, status from the stream), native
streaming of thread answers with a task timeline and its fallbacks to the edit path, the 👍/👎
under answers, and the App Home.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack.render import FEEDBACK
from bot.slack.stream_chunks import defang
from tests.context_helpers import post
from tests.e2e import Stack, answer_shown, wait_until

NATIVE = {"SLACK_NATIVE_STREAMING": "true", "SLACK_ASSISTANT_PROMPTS": "Plan|Plan my week"}


@pytest.fixture
def agent(idle_stack: Stack) -> Iterator[Stack]:
    bot = idle_stack.start_bot(**NATIVE)
    yield idle_stack
    print("\n".join(bot.output[-80:]))  # shown by pytest when the test failed


def control(stack: Stack, path: str, **body: Any) -> dict[str, Any]:
    response = stack.slack.post(path, json=body)
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def threads(stack: Stack) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.slack.get("/_emulator/assistant/threads").json()["threads"]
    return found


def replies(stack: Stack, thread_ts: str, channel: str) -> list[dict[str, Any]]:
    root = stack.message(thread_ts, channel)
    return list(root.get("replies", [])) if root else []


def streamed(stack: Stack, thread_ts: str, channel: str, count: int = 1) -> list[dict[str, Any]]:
    """The bot's streamed replies in a thread, once `count` of them are closed."""

    def closed() -> list[dict[str, Any]] | None:
        done = [
            r
            for r in replies(stack, thread_ts, channel)
            if (r.get("stream") or {}).get("state") == "completed"
        ]
        return done if len(done) >= count else None

    return wait_until(closed, what=f"{count} closed stream(s) under {thread_ts}")


def stream_calls(stack: Stack, ts: str) -> list[dict[str, Any]]:
    return [
        c
        for c in stack.calls()
        if c["method"] in ("chat.appendStream", "chat.stopStream") and c["args"].get("ts") == ts
    ]


def shows_whole_answer(stack: Stack, message: dict[str, Any], worker_id: str) -> None:
    """A streamed message's markdown is the worker's final answer as GET returns it."""
    assert message["text"] == defang(stack.worker(worker_id)["output_text"])


def test_assistant_thread_from_greeting_to_streamed_answer_and_follow_up(agent: Stack) -> None:
    opened = control(
        agent, "/_emulator/assistant/threads", user="U0001", context_channel="C0001", wait=True
    )
    dm, root = opened["channel"], opened["thread_ts"]
    assert opened["acked"]
    greeting = wait_until(lambda: replies(agent, root, dm), what="the greeting")[0]
    assert greeting["bot_id"] and "Hi!" in greeting["text"]
    [thread] = wait_until(lambda: [t for t in threads(agent) if t["prompts"]], what="prompts")
    assert thread["prompts"] == [{"title": "Plan", "message": "Plan my week"}]

    agent.post("Find three facts about otters [[steps=3]]", channel=dm, thread_ts=root)
    [answer] = streamed(agent, root, dm)
    [worker] = agent.workers()
    assert worker["inputs"][0].startswith("Find three facts about otters")
    assert "C0001" in worker["inputs"][0]  # the channel the user was looking at
    shows_whole_answer(agent, answer, worker["id"])

    # the task timeline: the steps in order (appends are coalesced, so a short step may first
    # show up done), the first while it runs, each finally complete
    chunks = answer["stream"]["chunks"]
    tasks = [c for c in chunks if c["type"] == "task_update"]
    order = list(dict.fromkeys(t["id"] for t in tasks))
    assert order == ["step-1", "step-2", "step-3"]
    assert tasks[0]["status"] == "in_progress"
    last = {t["id"]: t["status"] for t in tasks}
    assert set(last.values()) == {"complete"}
    assert any(t.get("sources") for t in tasks)
    text = "".join(c["text"] for c in chunks if c["type"] == "markdown_text")
    assert text == answer["text"]
    assert len(stream_calls(agent, answer["ts"])) >= 2  # appended as it came, then stopped
    # closed with the footer and the feedback buttons
    blocks = str(answer["blocks"])
    assert worker["id"] in blocks and FEEDBACK in blocks

    [thread] = threads(agent)
    assert thread["title"] == "Find three facts about otters [[steps=3]]"
    statuses = thread["statuses"]
    assert statuses[0] == "is thinking…" and statuses[-1] == ""
    assert any(s.startswith("is ") and s not in ("is thinking…", "is writing…") for s in statuses)

    agent.post("And one about beavers", channel=dm, thread_ts=root)
    _, second = streamed(agent, root, dm, count=2)
    [worker] = agent.workers()
    assert worker["inputs"][-1] == "And one about beavers"
    shows_whole_answer(agent, second, worker["id"])


def test_a_thread_started_event_delivered_again_greets_once(agent: Stack) -> None:
    opened = control(agent, "/_emulator/assistant/threads", user="U0001", repeat=3, wait=True)
    dm, root = opened["channel"], opened["thread_ts"]
    assert opened["acked"] and len(opened["event_ids"]) == 3
    # a later greeting would be posted before the answer to a first instruction
    agent.post("Hello there", channel=dm, thread_ts=root)
    streamed(agent, root, dm)
    greetings = [r for r in replies(agent, root, dm) if r.get("bot_id") and "Hi!" in r["text"]]
    assert len(greetings) == 1
    assert len(agent.calls("assistant.threads.setSuggestedPrompts")) == 1


def test_context_change_is_told_to_the_agent(agent: Stack) -> None:
    opened = control(agent, "/_emulator/assistant/threads", user="U0001", wait=True)
    dm, root = opened["channel"], opened["thread_ts"]
    control(
        agent,
        "/_emulator/assistant/context",
        channel=dm,
        thread_ts=root,
        context_channel="G0001",
        wait=True,
    )
    agent.post("What is this channel about?", channel=dm, thread_ts=root)
    streamed(agent, root, dm)
    [worker] = agent.workers()
    assert "G0001" in worker["inputs"][0]


def test_an_assistant_thread_without_a_worker_gives_its_history_and_files(agent: Stack) -> None:
    """Issue 19's thread context applies in the assistant pane too: here the first instruction
    could not start a worker, so the second one starts it with the first as history (it used
    to fail to continue a worker that did not exist)."""
    opened = control(agent, "/_emulator/assistant/threads", user="U0001", wait=True)
    dm, root = opened["channel"], opened["thread_ts"]
    refused = {"status": 400, "error": "no", "method": "POST", "path": "^/api/workers$", "count": 1}
    agent.handinger.post("/_emulator/faults", json=refused).raise_for_status()
    agent.post("ALERT eu-west error rate at 5%", channel=dm, thread_ts=root)
    [failed] = agent.wait_final_reply(root, 1, channel=dm)
    assert failed["text"].startswith("❌")
    files = [{"name": "errors.log", "text": "ERROR 502 from upstream"}]
    post(agent, "look into this", channel=dm, thread_ts=root, files=files)
    _, answer = streamed(agent, root, dm, count=2)  # the failed one was a stream, too
    [worker] = agent.workers()
    sent = worker["inputs"][0]
    history = sent[sent.index("<slack_thread") : sent.index("</slack_thread>")]
    assert "ALERT eu-west error rate at 5%" in history
    assert "Hi!" not in history and "❌" not in history  # the app's own messages are not context
    assert "ERROR 502 from upstream" in sent and "look into this" in sent
    shows_whole_answer(agent, answer, worker["id"])


def test_follow_up_in_a_channel_thread_streams_natively(agent: Stack) -> None:
    agent.slash("First question")
    [card] = agent.wait_final_card()  # the /handinger card stays an edited message
    assert "stream" not in card
    agent.post("And a follow-up", thread_ts=card["ts"], user="U0002")
    [answer] = streamed(agent, card["ts"], "C0001")
    [worker] = agent.workers()
    shows_whole_answer(agent, answer, worker["id"])
    [start] = agent.calls("chat.startStream")
    assert start["args"]["recipient_user_id"] == "U0002"
    assert start["args"]["recipient_team_id"] == "T0001"
    trigger = next(r for r in replies(agent, card["ts"], "C0001") if not r.get("bot_id"))

    def done() -> bool:
        message = agent.message(trigger["ts"]) or {}
        return "white_check_mark" in {r["name"] for r in message.get("reactions", [])}

    wait_until(done, what="✅ on the follow-up")


def fallback_reply(stack: Stack, thread_ts: str) -> dict[str, Any]:
    """The final edited reply (a card) in a thread."""
    found: dict[str, Any] = stack.wait_final_reply(thread_ts, 1)[0]
    return found


@pytest.mark.parametrize("error", ["unknown_method", "not_allowed"])
def test_streaming_refused_falls_back_to_the_edited_card(agent: Stack, error: str) -> None:
    control(agent, "/_emulator/faults", method="chat.startStream", error=error, count=5)
    ts = agent.post("<@U0BOT> what changed in the API?")
    reply = fallback_reply(agent, ts)
    [worker] = agent.workers()
    answer_shown(agent, reply, worker["id"])
    assert "stream" not in reply
    # the workspace is not asked to stream again for a while
    assert len(agent.calls("chat.startStream")) == 1


def test_an_assistant_thread_answered_by_edits_still_shows_the_status(agent: Stack) -> None:
    opened = control(agent, "/_emulator/assistant/threads", user="U0001", wait=True)
    dm, root = opened["channel"], opened["thread_ts"]
    control(agent, "/_emulator/faults", method="chat.startStream", error="not_allowed", count=5)
    agent.post("Find three facts about otters [[steps=3]]", channel=dm, thread_ts=root)
    reply = fallback_reply_in(agent, root, dm)
    [worker] = agent.workers()
    answer_shown(agent, reply, worker["id"])
    assert "stream" not in reply
    [thread] = threads(agent)
    statuses = thread["statuses"]
    assert statuses[0] == "is thinking…" and statuses[-1] == ""
    assert any(s.startswith("is ") and s not in ("is thinking…", "is writing…") for s in statuses)


def fallback_reply_in(stack: Stack, thread_ts: str, channel: str) -> dict[str, Any]:
    found: dict[str, Any] = stack.wait_final_reply(thread_ts, 1, channel=channel)[0]
    return found


def test_stream_budget_spent_falls_back_to_the_edited_card(agent: Stack) -> None:
    control(
        agent,
        "/_emulator/rate-limits",
        overrides={"chat.startStream": {"per_minute": 1, "burst": 1, "scope": "workspace"}},
    )
    first = agent.post("<@U0BOT> one")
    streamed(agent, first, "C0001")
    second = agent.post("<@U0BOT> two")
    reply = fallback_reply(agent, second)
    worker = next(w for w in agent.workers() if w["inputs"][0] == "two")
    answer_shown(agent, reply, worker["id"])
    refused = [c for c in agent.calls("chat.startStream") if c["status"] == 429]
    assert len(refused) == 1


def test_stream_expired_mid_answer_ends_with_the_whole_answer(agent: Stack) -> None:
    ts = agent.post("<@U0BOT> a slow one [[duration=5]]")

    def started() -> str | None:
        found = [r for r in replies(agent, ts, "C0001") if r.get("stream") and r["text"]]
        return str(found[0]["ts"]) if found else None

    stream_ts = wait_until(started, what="the first streamed words")
    expired = control(agent, "/_emulator/streams/expire", channel="C0001", ts=stream_ts)
    assert expired["expired"] == [stream_ts]
    reply = fallback_reply(agent, ts)
    assert reply["ts"] == stream_ts  # the same message, edited
    [worker] = agent.workers()
    answer_shown(agent, reply, worker["id"])
    refused = [c for c in stream_calls(agent, stream_ts) if c["error"]]
    assert refused and refused[0]["error"] == "message_not_in_streaming_state"


def test_feedback_is_recorded_once_per_person_and_shown_in_status(agent: Stack) -> None:
    ts = agent.post("<@U0BOT> rate me")
    [answer] = streamed(agent, ts, "C0001")
    run_value = next(
        e["positive_button"]["value"]
        for b in answer["blocks"]
        if b["type"] == "context_actions"
        for e in b["elements"]
    )
    run_id = run_value.split(":")[1]
    for value in (f"up:{run_id}", f"down:{run_id}"):
        clicked = control(
            agent,
            "/_emulator/actions",
            channel="C0001",
            message_ts=answer["ts"],
            action_id=FEEDBACK,
            value=value,
            user="U0001",
        )
        assert clicked["acked"]
    said = wait_until(
        lambda: [e for e in agent.ephemeral() if "now 👎" in e["text"]], what="the vote changed"
    )
    assert said
    status = agent.slash("status")
    assert status["ok"]
    wait_until(
        lambda: any("👎 1" in str(e["blocks"]) for e in agent.ephemeral()),
        what="feedback in /handinger status",
    )
    assert not any("👍 1" in str(e["blocks"]) for e in agent.ephemeral())


def test_app_home_shows_runs_and_schedules_and_cancels(agent: Stack) -> None:
    agent.slash("schedule every 1d Morning digest")
    agent.wait_final_card()
    control(agent, "/_emulator/home", user="U0001", wait=True)

    def home() -> dict[str, Any] | None:
        view: dict[str, Any] | None = agent.slack.get(
            "/_emulator/home", params={"user": "U0001"}
        ).json()["view"]
        return view if view and "Morning digest" in str(view["blocks"]) else None

    view = wait_until(home, what="the App Home")
    assert "Your recent workers" in str(view["blocks"]) and "Your schedules" in str(view["blocks"])
    cancel = next(b["accessory"] for b in view["blocks"] if (b.get("accessory") or {}).get("value"))
    # clicks on the App Home come from a view, not a channel
    control(agent, "/_emulator/home/actions", user="U0001", action_id=cancel["action_id"])

    def cancelled() -> bool:
        view = agent.slack.get("/_emulator/home", params={"user": "U0001"}).json()["view"]
        return "No schedules" in str(view["blocks"])

    wait_until(cancelled, what="the schedule cancelled and the home published again")

    # a run of the user's that finishes publishes the home again, without it being opened
    ts = agent.post("<@U0BOT> a fresh question")
    streamed(agent, ts, "C0001")

    def refreshed() -> bool:
        view = agent.slack.get("/_emulator/home", params={"user": "U0001"}).json()["view"]
        return "a fresh question" in str(view["blocks"])

    wait_until(refreshed, what="the home published after the run finished")


def test_a_stream_left_open_by_a_killed_bot_is_stopped_and_finished_after_restart(
    agent: Stack,
) -> None:
    ts = agent.post("<@U0BOT> a slow one [[duration=4]]")

    def started() -> str | None:
        found = [r for r in replies(agent, ts, "C0001") if r.get("stream") and r["text"]]
        return str(found[0]["ts"]) if found else None

    stream_ts = wait_until(started, what="the first streamed words")
    assert agent.bot is not None
    agent.bot.kill()
    agent.start_bot(**NATIVE)
    reply = fallback_reply(agent, ts)
    assert reply["ts"] == stream_ts  # the same message: stopped, then edited with the answer
    [worker] = agent.workers()
    answer_shown(agent, reply, worker["id"])
    assert reply["stream"]["state"] == "completed"
    methods = [c["method"] for c in agent.calls() if c["args"].get("ts") == stream_ts]
    stop = methods.index("chat.stopStream")
    assert "chat.update" in methods[stop:]


def test_a_stream_started_by_a_bot_killed_before_it_heard_back_is_taken_over(
    agent: Stack,
) -> None:
    """Slack started the stream, the bot died before it learnt the stream's ts: the restarted
    bot finds that message and finishes it, instead of answering in a second one."""
    control(agent, "/_emulator/faults", method="chat.startStream", action="hold")
    ts = agent.post("<@U0BOT> a slow one [[duration=3]]")
    wait_until(
        lambda: agent.slack.get("/_emulator/holds").json().get("held"), what="the held start"
    )
    assert agent.bot is not None
    agent.bot.kill()
    control(agent, "/_emulator/release")
    agent.start_bot(**NATIVE)
    reply = fallback_reply(agent, ts)
    [worker] = agent.workers()
    answer_shown(agent, reply, worker["id"])
    bot_replies = [r for r in replies(agent, ts, "C0001") if r.get("bot_id")]
    assert [r["ts"] for r in bot_replies] == [reply["ts"]]
    assert reply["stream"]["state"] == "completed"
