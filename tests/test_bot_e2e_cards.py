"""End to end: what a run's card shows and how it gets there. Refresh redraws a card's own turn
(never a later turn's, never a "working" state nobody will end); an edit that changes nothing is
never sent; a post Slack made before failing is kept, not posted a second time."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests.cards import click, make_stale, redrawn, run_id_of
from tests.e2e import Stack, is_final, section_text, wait_until
from tests.schedules import digests, has_digests


def test_refresh_while_a_later_turn_runs_keeps_the_card_on_its_own_turn(stack: Stack) -> None:
    stack.slash("what is new")
    [card] = stack.wait_final_card()
    own = section_text(card)
    [worker] = stack.workers()
    stack.post("and what comes next? [[duration=20]]", thread_ts=card["ts"])
    wait_until(lambda: stack.worker(worker["id"])["running"], what="the second turn")
    make_stale(stack, card)  # the second turn is taken up again by the restarted app
    click(stack, card, f"refresh:{run_id_of(card)}")
    refreshed = redrawn(stack, card["ts"])
    assert is_final(refreshed) and refreshed["text"].startswith("✅")
    assert section_text(refreshed) == own  # its own answer and sources, not the second turn's
    assert refreshed["blocks"] == card["blocks"]  # and its own footer: duration, tokens, cost
    assert stack.worker(worker["id"])["running"]  # it was redrawn while the later turn ran

    [reply] = stack.wait_final_reply(card["ts"], 1)
    assert reply["text"].startswith("✅")
    later = stack.message(card["ts"]) or {}
    assert (later["text"], later["blocks"]) == (refreshed["text"], refreshed["blocks"])
    assert len(later["edits"]) == len(refreshed["edits"])  # and never edited again


def test_refresh_redraws_a_digest_with_its_own_scheduled_turn(idle_stack: Stack) -> None:
    stack = idle_stack
    fast = {"HANDINGER_SCHEDULE_CHECK_SECONDS": "0.5"}
    stack.start_bot(**fast)
    stack.slash("schedule every 1h summarise the incidents")
    stack.wait_final_card()  # the first digest, which created the worker
    [worker] = stack.workers()
    for fired in (1, 2):
        wait_until(lambda: not stack.worker(worker["id"])["running"], what="an idle worker")
        stack.handinger.post("/_emulator/clock", json={"advance": 3601}).raise_for_status()
        wait_until(partial(has_digests, stack, fired + 1), what=f"digest {fired + 1}")
    second = sorted(digests(stack), key=lambda m: float(m["ts"]))[1]
    make_stale(stack, second, **fast)
    click(stack, second, f"refresh:{run_id_of(second)}")
    refreshed = redrawn(stack, second["ts"])
    assert "Scheduled digest" in str(refreshed["blocks"])
    assert section_text(refreshed) == section_text(second)  # its turn, not the third
    assert refreshed["blocks"] == second["blocks"]  # with what it cost


def test_no_edit_repeats_what_the_message_already_shows(stack: Stack) -> None:
    stack.slash("a short one")
    [card] = stack.wait_final_card()
    stack.post("and a follow-up", thread_ts=card["ts"])
    [reply] = stack.wait_final_reply(card["ts"], 1)
    for message in (stack.message(card["ts"]), stack.message(reply["ts"])):
        assert message is not None
        states = [(edit["text"], edit["blocks"]) for edit in message["edits"]]
        assert len(states) >= 2  # posted, then edited at least once (the final edit)
        repeats = [n for n in range(1, len(states)) if states[n] == states[n - 1]]
        assert repeats == [], f"edits {repeats} of {message['ts']} changed nothing"
        calls = stack.calls("chat.update")
        updates = [c for c in calls if c["args"]["ts"] == message["ts"] and c["ok"]]
        assert len(updates) == len(states) - 1


@pytest.mark.parametrize("failure", [{"status": 500}, {"action": "close"}])
def test_a_card_slack_posted_before_failing_is_kept_not_posted_again(
    stack: Stack, failure: dict[str, Any]
) -> None:
    fault = {"method": "chat.postMessage", "performed": True, **failure}
    stack.slack.post("/_emulator/faults", json=fault).raise_for_status()
    stack.slash("Summarise the outage")
    [card] = stack.wait_final_card()
    assert card["text"].startswith("✅")
    assert len(stack.bot_messages()) == 1
    [post] = stack.calls("chat.postMessage")  # Slack posted it; the app adopted it
    assert post["ok"] is False


def test_a_continuation_slack_posted_before_failing_is_kept_not_posted_again(
    stack: Stack,
) -> None:
    fault = {
        "method": "chat.postMessage",
        "performed": True,
        "status": 503,
        "error": "service_unavailable",
        "match": {"text": "(continued 2/"},
    }
    stack.slack.post("/_emulator/faults", json=fault).raise_for_status()
    stack.slash("everything [[long]] [[duration=1]]")
    [card] = stack.wait_final_card()

    def thread() -> list[dict[str, Any]] | None:
        replies: list[dict[str, Any]] = (stack.message(card["ts"]) or {}).get("replies", [])
        return replies if any(r.get("files") for r in replies) else None

    replies = wait_until(thread, what="the continuations and the attached answer")
    parts = [str(r["text"]) for r in replies if str(r["text"]).startswith("(continued ")]
    assert parts and len(parts) == len(set(parts))  # each continuation once
    assert any(p.startswith("(continued 2/") for p in parts)
