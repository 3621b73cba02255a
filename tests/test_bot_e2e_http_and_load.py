"""End to end: HTTP mode with request signing, and many runs at once within Slack's limits."""

from __future__ import annotations

import json
import time

import httpx

from emulators.credentials import SIGNING_SECRET
from emulators.harness import free_port
from tests.e2e import Stack, answer_shown, is_final, wait_until
from tests.slack_requests import signed


def test_http_mode_verifies_signatures_and_dedupes_retries(idle_stack: Stack) -> None:
    stack = idle_stack
    port = free_port()
    stack.start_bot(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(port))
    events_url = f"http://127.0.0.1:{port}/slack/events"
    stack.slack.post("/_emulator/config", json={"request_url": events_url}).raise_for_status()
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["mode"] == "http"

    result = stack.slash("over HTTP")
    assert result["ok"] and result["acked"]
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    answer_shown(stack, card, worker["id"])

    # A reply in the thread, then Slack's retry of the very same event: one continuation.
    reply_ts = stack.post("follow up", thread_ts=card["ts"], user="U0002")
    stack.wait_final_reply(card["ts"], 1)
    event = {
        "type": "message",
        "channel": "C0001",
        "channel_type": "channel",
        "user": "U0002",
        "text": "follow up",
        "ts": reply_ts,
        "thread_ts": card["ts"],
        "event_ts": reply_ts,
    }
    envelope = json.dumps(
        {
            "token": "x",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": "Ev_retry_1",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0001", "user_id": "U0BOT", "is_bot": True}],
        }
    )
    headers = {**signed(envelope, SIGNING_SECRET), "X-Slack-Retry-Num": "1"}
    assert httpx.post(events_url, content=envelope, headers=headers).status_code == 200
    forged = {**signed(envelope, "wrong-secret")}
    assert httpx.post(events_url, content=envelope, headers=forged).status_code == 401
    time.sleep(1.0)
    [worker] = stack.workers()
    assert worker["inputs"] == ["over HTTP", "follow up"]


def test_twenty_runs_at_once_all_finish_correctly_within_slacks_limits(stack: Stack) -> None:
    for i in range(20):
        assert stack.slash(f"question number {i}")["ok"]
    cards = stack.wait_final_card(count=20, timeout=150)
    assert len(cards) == 20
    workers = stack.workers()
    assert sorted(w["inputs"][0] for w in workers) == sorted(
        f"question number {i}" for i in range(20)
    )
    for card in cards:
        assert card["text"].startswith("✅")
        [worker] = [w for w in workers if f"`{w['id']}`" in str(card["blocks"])]
        assert f"question number {worker['inputs'][0].split()[-1]}" in str(card["blocks"])
        answer_shown(stack, card, worker["id"])
        assert sum(1 for e in card["edits"] if is_final(e)) == 1
    updates = stack.calls("chat.update")
    limited = [c for c in updates if c.get("status") == 429]
    # Whatever Slack refused was sent again: every card ends final, none was lost.
    assert all(is_final(c) for c in cards)
    assert len(updates) - len(limited) >= 20
    wait_until(lambda: all(is_final(m) for m in stack.bot_messages()), what="no card left working")
