"""End to end: Slack's passing failures (5xx, dropped connections) on every kind of call the bot
makes are waited out; a Slack failure is never shown as the run failing."""

from __future__ import annotations

from typing import Any

from tests.cards import assert_each_continuation_once, long_answer_thread
from tests.e2e import Stack, answer_shown, wait_until


def slack_fault(stack: Stack, method: str, **spec: Any) -> None:
    stack.slack.post("/_emulator/faults", json={"method": method, **spec}).raise_for_status()


def failed_calls(stack: Stack, method: str) -> list[Any]:
    return [c["status"] for c in stack.calls(method) if c["status"] != 200]


def never_failed(card: dict[str, Any]) -> bool:
    return not any(str(edit["text"]).startswith("❌") for edit in card["edits"])


def test_a_500_then_a_503_on_the_final_edit_still_ends_with_the_answer(stack: Stack) -> None:
    slack_fault(stack, "chat.update", status=500, match={"text": "✅"})
    slack_fault(stack, "chat.update", status=503, error="service_unavailable", match={"text": "✅"})
    stack.slash("Summarise the outage")
    [card] = stack.wait_final_card()
    assert card["text"].startswith("✅") and never_failed(card)
    [worker] = stack.workers()
    answer_shown(stack, card, worker["id"])
    assert failed_calls(stack, "chat.update") == [500, 503]


def test_a_500_on_the_first_continuation_post_changes_nothing_users_see(stack: Stack) -> None:
    slack_fault(stack, "chat.postMessage", status=500, match={"text": "(continued "})
    stack.slash("everything [[long]] [[duration=1]]")
    [card] = stack.wait_final_card()
    replies = long_answer_thread(stack, card)
    card = stack.message(card["ts"]) or card
    assert card["text"].startswith("✅") and never_failed(card)
    assert_each_continuation_once(replies)
    assert failed_calls(stack, "chat.postMessage") == [500]


def test_slack_failing_longer_than_its_clients_retry_is_waited_out(stack: Stack) -> None:
    """More failures in a row than the Web API client repeats by itself, dropped connections
    among them: the edit scheduler and the poster keep trying with backoff."""
    for spec in ({"action": "close"}, {"status": 502}, {"status": 500}, {"status": 503}):
        slack_fault(stack, "chat.update", match={"text": "✅"}, **spec)
    for spec in ({"status": 500}, {"action": "close"}, {"status": 504}, {"status": 500}):
        slack_fault(stack, "chat.postMessage", match={"text": "(continued "}, **spec)
    stack.slash("everything [[long]] [[duration=1]]")
    [card] = stack.wait_final_card()
    replies = long_answer_thread(stack, card)
    card = stack.message(card["ts"]) or card
    assert card["text"].startswith("✅") and never_failed(card)
    assert_each_continuation_once(replies)
    assert failed_calls(stack, "chat.update") == [None, 502, 500, 503]
    assert failed_calls(stack, "chat.postMessage") == [500, None, 504, 500]


def test_file_uploads_survive_server_errors_at_each_step(stack: Stack) -> None:
    slack_fault(stack, "files.getUploadURLExternal", status=500)
    slack_fault(stack, "upload", status=503, count=3)
    slack_fault(stack, "files.completeUploadExternal", status=502)
    stack.slash("write it down [[file=notes.txt]]")
    [card] = stack.wait_final_card()
    assert card["text"].startswith("✅")

    def uploaded() -> list[Any]:
        root = stack.message(card["ts"]) or {}
        return [f for r in root.get("replies", []) for f in r.get("files", [])]

    files = wait_until(uploaded, what="the uploaded file")
    assert [f["name"] for f in files] == ["notes.txt"]
    replies = (stack.message(card["ts"]) or {}).get("replies", [])
    assert not [r for r in replies if "could not" in str(r.get("blocks"))]
    assert failed_calls(stack, "files.completeUploadExternal") == [502]


def test_reactions_on_a_follow_up_survive_server_errors(stack: Stack) -> None:
    stack.slash("First question")
    [card] = stack.wait_final_card()
    slack_fault(stack, "reactions.add", status=500, count=3)
    slack_fault(stack, "reactions.remove", action="close", count=3)
    trigger = stack.post("And a follow-up", thread_ts=card["ts"])
    [reply] = stack.wait_final_reply(card["ts"], 1)
    assert reply["text"].startswith("✅")

    def reactions() -> set[str] | None:
        names = {r["name"] for r in (stack.message(trigger) or {}).get("reactions", [])}
        return names if "white_check_mark" in names else None

    assert wait_until(reactions, what="the ✅ reaction") == {"white_check_mark"}


def test_private_replies_through_a_failing_response_url_still_arrive(stack: Stack) -> None:
    slack_fault(stack, "response_url", status=500, count=3)
    stack.slash("schedule every 1h summarise the incidents")
    said = wait_until(
        lambda: [e for e in stack.ephemeral() if "Scheduled:" in str(e)], what="confirmation"
    )
    assert len(said) == 1
    slack_fault(stack, "response_url", action="close")
    slack_fault(stack, "response_url", status=503)
    stack.slash("status")
    listed = wait_until(
        lambda: [e for e in stack.ephemeral() if "recent workers" in str(e)], what="status"
    )
    assert len(listed) == 1


def test_a_rate_limited_response_url_is_tried_again_after_retry_after(stack: Stack) -> None:
    slack_fault(stack, "response_url", status=429, error="ratelimited", retry_after=1)
    stack.slash("status")
    listed = wait_until(
        lambda: [e for e in stack.ephemeral() if "No workers yet" in str(e)], what="status"
    )
    assert len(listed) == 1
    assert stack.slack.get("/_emulator/faults").json()["faults"] == []  # the 429 was answered
