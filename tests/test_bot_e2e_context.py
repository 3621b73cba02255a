"""End to end: what the agent sees. Thread history on the first call into a thread, reply mode
`mention`, the Ask Handinger shortcut, and Slack's Tier 1 limit on thread history."""

from __future__ import annotations

from tests.cards import click, run_id_of
from tests.context_helpers import BOT, inputs, notice, post
from tests.e2e import Stack, wait_until


def test_a_mention_in_an_existing_thread_carries_its_history_in_order(stack: Stack) -> None:
    alert = post(stack, "ALERT disk 95% on db-1 <!here>", user="U0002")["ts"]
    post(stack, "is it still growing?", thread_ts=alert)
    post(stack, "yes, about 2% an hour & <b>rising</b>", user="U0002", thread_ts=alert)
    post(stack, f"{BOT} look into this", thread_ts=alert)
    stack.wait_final_reply(alert, 1)
    [[sent]] = inputs(stack)
    history = sent[sent.index("<slack_thread") : sent.index("</slack_thread>")]
    lines = history.splitlines()[1:]
    assert lines == [
        "bob: ALERT disk 95% on db-1 @here",
        "alice: is it still growing?",
        "bob: yes, about 2% an hour & <b>rising</b>",
    ]
    request = sent[sent.index("The request:") :]
    assert request.splitlines()[1] == "look into this"
    # The card shows the request alone; the context is for the agent only.
    [card] = [r for r in stack.message(alert)["replies"] if r.get("bot_id")]  # type: ignore[index]
    assert "ALERT" not in str(card["blocks"])


def test_history_is_cut_to_the_budget_and_the_cut_is_said(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(HANDINGER_CONTEXT_MESSAGES="2")
    root = post(stack, "first", user="U0002")["ts"]
    for word in ("second", "third"):
        post(stack, word, thread_ts=root)
    post(stack, f"{BOT} summarise", thread_ts=root)
    [[sent]] = inputs(stack)
    assert "1 earlier message(s) not included" in sent
    assert "alice: second\nalice: third\n</slack_thread>" in sent
    assert "bob: first" not in sent


def test_thread_history_can_be_turned_off(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(HANDINGER_THREAD_CONTEXT="false")
    root = post(stack, "secret alert", user="U0002")["ts"]
    post(stack, f"{BOT} look", thread_ts=root)
    [[sent]] = inputs(stack)
    assert sent == "look"
    assert not stack.calls("conversations.replies")


def test_tier1_history_gives_what_one_call_returns_and_says_so(stack: Stack) -> None:
    stack.slack.post("/_emulator/config", json={"history": "limited"}).raise_for_status()
    root = post(stack, "message 0", user="U0002")["ts"]
    for n in range(1, 20):
        post(stack, f"message {n}", thread_ts=root)
    post(stack, f"{BOT} what happened?", thread_ts=root)
    said = notice(stack, root, "rate limit")
    assert "goes on" in said["text"]
    stack.wait_final_reply(root, 1)
    [[sent]] = inputs(stack)
    assert "bob: message 0" in sent and "alice: message 14" in sent
    assert "message 15" not in sent
    assert "rate limit" in sent
    calls = stack.calls("conversations.replies")
    assert [c["status"] for c in calls] == [200, 429]  # never waited out, never retried


def test_reply_mode_mention_answers_only_mentions_and_keeps_the_rest_as_context(
    idle_stack: Stack,
) -> None:
    stack = idle_stack
    stack.start_bot(HANDINGER_REPLY_MODE="mention")
    stack.slash("watch the deploy")
    [card] = stack.wait_final_card()
    assert "answers only replies that mention it" in str(card["blocks"])
    post(stack, "the canary looks fine", thread_ts=card["ts"])
    errors = [{"name": "errors.log", "text": "HTTP 500 x 42"}]
    post(stack, "errors went up in eu-west", user="U0002", thread_ts=card["ts"], files=errors)
    post(stack, f"{BOT} what do you make of it?", thread_ts=card["ts"])
    stack.wait_final_reply(card["ts"], 1)
    [[first, second]] = inputs(stack, turns=2)
    assert first == "watch the deploy"
    thread = second[second.index("<slack_thread") : second.index("</slack_thread>")]
    assert thread.splitlines()[1:] == [
        "alice: the canary looks fine",
        "bob: errors went up in eu-west",
    ]
    assert "since the agent last answered" in thread
    assert '<slack_file name="errors.log">\nHTTP 500 x 42\n</slack_file>' in second
    assert second.endswith("The request:\nwhat do you make of it?")

    # The card's menu switches the thread to answering every reply, and the card says so.
    click(stack, card, f"mode-auto:{run_id_of(card)}")
    wait_until(
        lambda: "answers every reply" in str((stack.message(card["ts"]) or {}).get("blocks")),
        what="the card showing the new mode",
    )
    post(stack, "and now?", thread_ts=card["ts"])
    stack.wait_final_reply(card["ts"], 2)
    [[*_, third]] = inputs(stack, turns=3)
    assert third == "and now?"


def test_the_message_shortcut_asks_about_a_message_in_its_thread(stack: Stack) -> None:
    message = post(stack, "Q3 revenue was 1.2M, churn 3%", user="U0002")["ts"]
    shortcut = stack.slack.post(
        "/_emulator/shortcuts",
        json={
            "channel": "C0001",
            "message_ts": message,
            "user": "U0001",
            "callback_id": "ask_handinger",
        },
    )
    assert shortcut.json()["acked"], shortcut.json()
    views = wait_until(
        lambda: [
            v
            for v in stack.slack.get("/_emulator/views").json()["views"]
            if v.get("callback_id") == "ask_handinger_modal"
        ],
        what="the Ask Handinger modal",
    )
    values = {
        "instruction": {"value": {"type": "plain_text_input", "value": "summarise this"}},
        "budget": {"value": {"type": "static_select", "selected_option": {"value": "low"}}},
    }
    submitted = stack.slack.post(
        f"/_emulator/views/{views[0]['id']}/submit", json={"user": "U0001", "values": values}
    )
    assert submitted.json()["closed"], submitted.json()
    stack.wait_final_reply(message, 1)
    [[sent]] = inputs(stack)
    assert "bob: Q3 revenue was 1.2M, churn 3%" in sent
    assert sent.endswith("The request:\nsummarise this")


def test_the_shortcut_in_a_channel_without_the_app_says_to_invite_it(stack: Stack) -> None:
    stack.slack.post(
        "/_emulator/members", json={"channel": "C0002", "user": "U0001"}
    ).raise_for_status()
    message = post(stack, "elsewhere", channel="C0002")["ts"]
    stack.slack.post(
        "/_emulator/shortcuts",
        json={
            "channel": "C0002",
            "message_ts": message,
            "user": "U0001",
            "callback_id": "ask_handinger",
        },
    ).raise_for_status()
    [view] = wait_until(lambda: stack.slack.get("/_emulator/views").json()["views"])
    values = {"instruction": {"value": {"type": "plain_text_input", "value": "why?"}}}
    stack.slack.post(
        f"/_emulator/views/{view['id']}/submit", json={"user": "U0001", "values": values}
    ).raise_for_status()
    said = wait_until(lambda: [e for e in stack.ephemeral() if "invite" in str(e["text"])])
    assert "/invite @Handinger" in said[0]["text"]
    assert not stack.workers()


def test_in_a_direct_message_every_reply_is_addressed_to_the_app(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(HANDINGER_REPLY_MODE="mention")
    asked = post(stack, "hello", channel="D0001")["ts"]
    stack.wait_final_reply(asked, 1, channel="D0001")
    post(stack, "and more", channel="D0001", thread_ts=asked)
    stack.wait_final_reply(asked, 2, channel="D0001")
    [[_, second]] = inputs(stack, turns=2)
    assert second == "and more"
