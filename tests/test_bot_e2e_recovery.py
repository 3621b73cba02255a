"""End to end: the bot killed with SIGKILL at the narrowest moments of a run, then restarted on
the same database. Each crash window is made deterministic by an emulator that performs a
request but holds its answer (`hold`) until the bot is dead: the server acted, the bot never
heard back. After the restart every answer is shown once, in its own message, and nothing is
left saying it is working."""

from __future__ import annotations

from typing import Any

from tests.cards import assert_each_continuation_once, long_answer_thread
from tests.e2e import Stack, answer_shown, is_final, wait_until


def all_bot_messages(stack: Stack) -> list[dict[str, Any]]:
    """Every message of the bot in the channel, top level and in threads."""
    found = []
    for message in stack.messages():
        found += [message, *message.get("replies", [])]
    return [m for m in found if m.get("bot_id")]


def nothing_left_working(stack: Stack) -> None:
    stuck = [m["text"] for m in all_bot_messages(stack) if not is_final(m) and not m["files"]]
    assert stuck == [], f"messages left working: {stuck}"


def kill_and_restart(stack: Stack) -> None:
    assert stack.bot is not None
    stack.bot.kill()
    stack.start_bot()


def held_in_handinger(stack: Stack) -> None:
    wait_until(lambda: stack.handinger.get("/_emulator/held").json(), what="a held request")


def held_in_slack(stack: Stack) -> None:
    wait_until(lambda: stack.slack.get("/_emulator/holds").json()["held"], what="a held call")


def test_a_follow_up_finished_while_the_app_was_down_shows_its_own_answer(stack: Stack) -> None:
    stack.slash("First question")
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    stall = {"stall_after": 0, "stall_seconds": 4}
    stack.handinger.post("/_emulator/stream-faults", json=stall).raise_for_status()
    stack.post("A quick follow-up [[duration=1]]", thread_ts=card["ts"])
    wait_until(lambda: len(stack.worker(worker["id"])["messages"]) >= 3, what="the turn began")
    assert stack.bot is not None
    stack.bot.kill()
    # The turn ends while the app is down: on restart the worker's text is this turn's answer.
    wait_until(lambda: stack.worker(worker["id"])["status"] == "completed", what="turn 2 done")
    stack.start_bot()
    [reply] = stack.wait_final_reply(card["ts"], 1)
    assert reply["text"].startswith("✅")
    answer_shown(stack, reply, worker["id"])
    assert stack.workers()[0]["turns"] == 2
    nothing_left_working(stack)


def test_a_crash_right_after_the_create_was_sent_resumes_that_worker(stack: Stack) -> None:
    hold = {"action": "hold", "method": "POST", "path": "^/api/workers$"}
    stack.handinger.post("/_emulator/faults", json=hold).raise_for_status()
    stack.slash("Crash right after the create [[duration=1]]")
    held_in_handinger(stack)
    assert stack.bot is not None
    stack.bot.kill()
    stack.handinger.post("/_emulator/release").raise_for_status()
    stack.start_bot()
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    assert worker["turns"] == 1  # the same worker, resumed: not a second one
    assert card["text"].startswith("✅"), card["text"]
    answer_shown(stack, card, worker["id"])
    creates = [
        r
        for r in stack.handinger.get("/_emulator/requests").json()
        if r["method"] == "POST" and r["path"] == "/api/workers"
    ]
    assert len(creates) == 2 and creates[0]["idempotency_key"]
    assert creates[1]["idempotency_key"] == creates[0]["idempotency_key"]
    assert len(all_bot_messages(stack)) == 1
    nothing_left_working(stack)


def test_a_crash_right_after_a_reply_was_posted_keeps_one_reply(stack: Stack) -> None:
    stack.slash("First question")
    [card] = stack.wait_final_card()
    stack.slack.post("/_emulator/holds", json={"method": "chat.postMessage"}).raise_for_status()
    stack.post("And then? [[duration=1]]", thread_ts=card["ts"])
    held_in_slack(stack)
    kill_and_restart(stack)
    stack.slack.post("/_emulator/release").raise_for_status()
    [reply] = stack.wait_final_reply(card["ts"], 1)
    [worker] = stack.workers()
    assert worker["turns"] == 2
    answer_shown(stack, reply, worker["id"])
    root = stack.message(card["ts"])
    assert root is not None
    assert [r["ts"] for r in root["replies"] if r.get("bot_id")] == [reply["ts"]]
    nothing_left_working(stack)


def test_a_crash_right_after_the_card_was_posted_keeps_one_card(stack: Stack) -> None:
    stack.slack.post("/_emulator/holds", json={"method": "chat.postMessage"}).raise_for_status()
    stack.slash("Crash right after the card [[duration=1]]")
    held_in_slack(stack)
    kill_and_restart(stack)
    stack.slack.post("/_emulator/release").raise_for_status()
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    answer_shown(stack, card, worker["id"])
    assert len(all_bot_messages(stack)) == 1
    nothing_left_working(stack)


def test_a_crash_right_after_a_continuation_was_posted_posts_each_part_once(stack: Stack) -> None:
    hold = {"method": "chat.postMessage", "match": {"text": "(continued 2/"}, "action": "hold"}
    stack.slack.post("/_emulator/faults", json=hold).raise_for_status()
    stack.slash("everything [[long]] [[duration=1]]")
    held_in_slack(stack)  # the card is final; part 2 is posted, its answer held
    kill_and_restart(stack)
    stack.slack.post("/_emulator/release").raise_for_status()
    [card] = stack.wait_final_card()
    assert card["text"].startswith("✅")
    assert_each_continuation_once(long_answer_thread(stack, card))
    assert len(stack.calls("conversations.replies")) == 1  # one lookup for every part


def test_a_crash_while_files_are_shared_shares_each_file_once(stack: Stack) -> None:
    hold = {"method": "files.completeUploadExternal", "action": "hold"}
    stack.slack.post("/_emulator/faults", json=hold).raise_for_status()
    stack.slash("build the report [[files=2]]")
    held_in_slack(stack)  # both files are shared, Slack's answer is held
    kill_and_restart(stack)
    stack.slack.post("/_emulator/release").raise_for_status()
    [card] = stack.wait_final_card()
    # A follow-up's own file arrives after the restart has taken up the first delivery.
    stack.post("add notes [[file=extra/notes.txt]] [[duration=1]]", thread_ts=card["ts"])
    stack.wait_final_reply(card["ts"], 1)

    def shared() -> list[str] | None:
        root = stack.message(card["ts"]) or {}
        names = [f["name"] for r in root.get("replies", []) for f in r.get("files", [])]
        return names if "extra-notes.txt" in names else None

    names = wait_until(shared, what="the follow-up's file")
    assert sorted(names) == ["chart.png", "extra-notes.txt", "reports-q3-summary.md"]


def test_a_crash_right_after_a_digest_was_posted_keeps_one_digest(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(HANDINGER_SCHEDULE_CHECK_SECONDS="0.5")
    stack.slash("schedule every 1h count the deploys")
    stack.wait_final_card()
    [worker] = stack.workers()
    wait_until(lambda: not stack.worker(worker["id"])["running"], what="an idle worker")
    stack.slack.post("/_emulator/holds", json={"method": "chat.postMessage"}).raise_for_status()
    stack.handinger.post("/_emulator/clock", json={"advance": 3601}).raise_for_status()
    held_in_slack(stack)  # the digest of the scheduled turn is posted, its ts not yet known
    assert stack.bot is not None
    stack.bot.kill()
    stack.slack.post("/_emulator/release").raise_for_status()
    stack.start_bot(HANDINGER_SCHEDULE_CHECK_SECONDS="0.5")
    stack.slash("status")  # the restarted app is up and has caught up
    wait_until(lambda: [e for e in stack.ephemeral() if "recent workers" in str(e)])
    assert stack.workers()[0]["turns"] == 2
    digests = [m for m in stack.bot_messages() if "Scheduled digest" in str(m["blocks"])]
    assert len(digests) == 2, [d["text"] for d in digests]
    nothing_left_working(stack)
