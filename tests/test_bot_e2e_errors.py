"""End to end: every failure a user can meet gets a clear message, and nothing stays 'working'."""

from __future__ import annotations

from typing import Any

from tests.e2e import Stack, is_final, wait_until


def card_says(card: dict[str, Any], *needles: str) -> None:
    shown = str(card["blocks"])
    for needle in needles:
        assert needle in shown, f"{needle!r} not in the card: {shown[:600]}"


def test_a_wrong_handinger_key_asks_for_an_admin(idle_stack: Stack) -> None:
    idle_stack.start_bot(HANDINGER_API_KEY="not-the-key")
    idle_stack.slash("anything")
    [card] = idle_stack.wait_final_card()
    assert card["text"].startswith("❌")
    card_says(card, "401", "HANDINGER_API_KEY")


def test_handinger_server_errors_are_retried_then_reported(stack: Stack) -> None:
    fault = {"status": 503, "count": 3, "method": "POST", "path": "^/api/workers$"}
    stack.handinger.post("/_emulator/faults", json=fault).raise_for_status()
    stack.slash("will not start")
    [card] = stack.wait_final_card()
    card_says(card, "503", "try again")
    posts = [
        r
        for r in stack.handinger.get("/_emulator/requests").json()
        if r["method"] == "POST" and r["path"] == "/api/workers"
    ]
    assert len(posts) == 3  # the first attempt and two retries
    assert stack.workers() == []


def test_a_rate_limited_create_succeeds_after_retrying(stack: Stack) -> None:
    fault = {"status": 429, "count": 1, "retry_after": "1", "method": "POST"}
    stack.handinger.post("/_emulator/faults", json=fault).raise_for_status()
    stack.slash("patience")
    [card] = stack.wait_final_card()
    assert card["text"].startswith("✅")
    assert len(stack.workers()) == 1


def test_a_worker_that_is_gone_is_explained_in_the_thread(stack: Stack) -> None:
    stack.slash("first")
    [card] = stack.wait_final_card()
    stack.handinger.post("/_emulator/reset").raise_for_status()  # the worker disappears
    stack.post("continue please", thread_ts=card["ts"])
    [reply] = stack.wait_final_reply(card["ts"], 1)
    assert reply["text"].startswith("❌")
    card_says(reply, "no longer exists", "/handinger")


def test_a_failed_turn_shows_the_error_and_partial_answer(stack: Stack) -> None:
    stack.slash("go [[fail]]")
    [card] = stack.wait_final_card()
    assert card["text"].startswith("❌")
    [worker] = stack.workers()
    error = stack.worker(worker["id"])["error"]["message"]
    card_says(card, error[:40])


def test_public_channel_without_the_bot_is_joined(stack: Stack) -> None:
    stack.slash("over here", channel="C0002")
    [card] = stack.wait_final_card(channel="C0002")
    assert card["text"].startswith("✅")
    assert [c["args"]["channel"] for c in stack.calls("conversations.join")] == ["C0002"]


def test_private_conversation_without_the_bot_is_explained_privately(stack: Stack) -> None:
    made = stack.slack.post(
        "/_emulator/channels",
        json={"type": "private", "name": "secret", "members": ["U0001"], "bot_member": False},
    ).json()
    channel = made["channel"]["id"]
    stack.slash("in secret", channel=channel)

    def explained() -> list[dict[str, Any]]:
        return [e for e in stack.ephemeral() if "can't post" in str(e)]

    [said] = wait_until(explained, what="a private explanation")
    assert "private channel" in str(said) and "`/invite @Handinger`" in str(said)
    assert stack.workers() == []  # Handinger was never asked
    assert stack.bot_messages(channel) == []


def test_a_dm_between_other_people_is_answered_privately(stack: Stack) -> None:
    made = stack.slack.post(
        "/_emulator/channels",
        json={"type": "im", "members": ["U0001", "U0002"], "bot_member": False},
    ).json()
    stack.slash("between us", channel=made["channel"]["id"])
    [said] = wait_until(
        lambda: [e for e in stack.ephemeral() if "can't post" in str(e)],
        what="a private explanation",
    )
    assert "direct message" in str(said) and "/invite" not in str(said)  # no one can invite me
    assert stack.workers() == []


def test_long_answers_continue_in_the_thread_then_attach_a_file(stack: Stack) -> None:
    stack.slash("everything [[long]] [[duration=1]]")
    [card] = stack.wait_final_card()

    def with_attachment() -> dict[str, Any] | None:
        root = stack.message(card["ts"])
        replies = (root or {}).get("replies", [])
        return root if any(r.get("files") for r in replies) else None

    root = wait_until(with_attachment, what="continuations and the attached answer")
    replies = root["replies"]
    continued = [r for r in replies if "continued" in str(r["blocks"])]
    assert 1 <= len(continued) <= 4
    files = [f for r in replies for f in r.get("files", [])]
    assert [f["name"] for f in files] == ["answer.md"]
    [worker] = stack.workers()
    full = stack.worker(worker["id"])["output_text"]
    assert len(full) > 40_000
    content = stack.slack.get(f"/_emulator/files/{files[0]['id']}").content.decode()
    assert content == full
    assert all(len(str(b)) < 3_500 for m in [card, *replies] for b in m["blocks"] or [])
    assert all(is_final(m) or m.get("files") or "continued" in str(m["blocks"]) for m in replies)
