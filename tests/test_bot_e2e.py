"""End to end: the bot as a real process between the Slack and Handinger emulators (Socket Mode,
strict rate limits), checked by what a user would see in Slack."""

from __future__ import annotations

from functools import partial

from tests.e2e import Stack, answer_shown, is_final, wait_until


def test_slash_command_streams_into_a_card_and_ends_with_the_answer(stack: Stack) -> None:
    result = stack.slash("Summarise this week's incidents")
    assert result["ok"] and result["ack_ms"] is not None
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    assert card["text"].startswith("✅")
    answer_shown(stack, card, worker["id"])
    progress = [e for e in card["edits"] if not is_final(e)]
    assert len(progress) >= 2, "the answer should stream in through several edits"
    assert sum(1 for e in card["edits"] if is_final(e)) == 1
    blocks = str(card["blocks"])
    assert "Summarise this week" in blocks and "<@U0001>" in blocks
    assert worker["id"] in blocks  # the footer names the worker for support


def test_thread_reply_continues_the_same_worker(stack: Stack) -> None:
    stack.slash("First question")
    [card] = stack.wait_final_card()
    stack.post("And a follow-up", thread_ts=card["ts"], user="U0002")
    [reply] = stack.wait_final_reply(card["ts"], 1)
    [worker] = stack.workers()
    assert worker["inputs"] == ["First question", "And a follow-up"]
    answer_shown(stack, reply, worker["id"])
    trigger = next(r for r in stack.message(card["ts"])["replies"] if not r.get("bot_id"))  # type: ignore[index]
    assert "white_check_mark" in {r["name"] for r in trigger["reactions"]}


def test_mention_and_dm_start_workers_threaded_under_the_message(stack: Stack) -> None:
    mention_ts = stack.post("<@U0BOT> what changed in the API?")
    dm_ts = stack.post("draft the release notes", channel="D0001")
    mention_reply = stack.wait_final_reply(mention_ts, 1)[0]
    dm_reply = stack.wait_final_reply(dm_ts, 1, channel="D0001")[0]
    inputs = sorted(w["inputs"][0] for w in stack.workers())
    assert inputs == ["draft the release notes", "what changed in the API?"]
    assert mention_reply["thread_ts"] == mention_ts and dm_reply["thread_ts"] == dm_ts
    # a mention inside the worker's thread is just a continuation
    stack.post("<@U0BOT> and the SDKs?", thread_ts=mention_ts)
    stack.wait_final_reply(mention_ts, 2)
    assert len(stack.workers()) == 2
    assert any(w["inputs"][-1] == "and the SDKs?" for w in stack.workers())


def test_follow_ups_during_a_turn_are_queued_and_run_in_order(stack: Stack) -> None:
    stack.slash("A long one [[duration=4]]")
    card = wait_until(lambda: next(iter(stack.bot_messages()), None), what="the card")
    first = stack.post("second", thread_ts=card["ts"])
    second = stack.post("third", thread_ts=card["ts"])

    def reactions(ts: str) -> set[str]:
        message = stack.message(ts)
        return {r["name"] for r in message["reactions"]} if message else set()

    def done(ts: str) -> bool:
        return "white_check_mark" in reactions(ts)

    wait_until(lambda: "hourglass_flowing_sand" in reactions(second), what="⏳ on the queued one")
    stack.wait_final_reply(card["ts"], 2)
    [worker] = stack.workers()
    assert worker["inputs"] == ["A long one [[duration=4]]", "second", "third"]
    # the ✅ goes on each reply's trigger just after its answer is shown
    for ts in (first, second):
        wait_until(partial(done, ts), what="✅ on each reply")
    assert "hourglass_flowing_sand" not in reactions(second)


def test_a_follow_up_started_at_once_loses_only_reactions_the_app_put_on(stack: Stack) -> None:
    """Removing a ⏳ that was never there spent Tier 2 `reactions.remove` calls: 50 follow-ups
    at once got hundreds of 429s."""
    stack.slash("First question")
    [card] = stack.wait_final_card()
    trigger = stack.post("And a follow-up", thread_ts=card["ts"])
    stack.wait_final_reply(card["ts"], 1)

    def marked() -> set[str] | None:
        message = stack.message(trigger)
        names = {r["name"] for r in message["reactions"]} if message else set()
        return names if "white_check_mark" in names else None

    assert wait_until(marked, what="the ✅") == {"white_check_mark"}
    removed = [c["args"].get("name") for c in stack.calls("reactions.remove")]
    added = [c["args"].get("name") for c in stack.calls("reactions.add")]
    assert "hourglass_flowing_sand" not in added + removed
    assert removed == ["eyes"] and added == ["eyes", "white_check_mark"]


def test_duplicate_delivery_starts_one_worker(stack: Stack) -> None:
    stack.slash("Start here")
    [card] = stack.wait_final_card()
    # a mention in the thread arrives twice: as `message` and as `app_mention`
    stack.post("<@U0BOT> once only", thread_ts=card["ts"])
    stack.wait_final_reply(card["ts"], 1)
    [worker] = stack.workers()
    assert worker["inputs"] == ["Start here", "once only"]


def test_bad_input_gets_a_clear_private_answer(stack: Stack) -> None:
    for text in ("", "help", "--fast do it", "--budget huge do it", "--budget unlimited go"):
        result = stack.slash(text)
        assert result["ok"]
    said = [str(e) for e in stack.ephemeral()]
    assert len(said) == 5
    assert "--budget" in said[0] and "--budget" in said[1]
    assert "--fast" in said[2]
    assert "low, standard, high, unlimited" in said[3]
    assert "HANDINGER_MAX_BUDGET" in said[4]
    assert stack.workers() == [] and stack.bot_messages() == []


def test_a_failed_turn_shows_the_workers_error(stack: Stack) -> None:
    stack.slash("please [[fail]]")
    [card] = stack.wait_final_card()
    assert card["text"].startswith("❌")
    assert "failed" in str(card["blocks"]).lower()


def test_kill_mid_turn_and_restart_finishes_the_card_exactly_once(stack: Stack) -> None:
    stack.slash("survive a crash [[duration=5]]")
    card = wait_until(
        lambda: next((m for m in stack.bot_messages() if len(m["edits"]) >= 2), None),
        what="the card streaming",
    )
    assert stack.bot is not None
    stack.bot.kill()
    stack.start_bot()
    [final] = stack.wait_final_card()
    assert final["ts"] == card["ts"]
    [worker] = stack.workers()
    assert len(worker["inputs"]) == 1  # no second worker, no second turn
    answer_shown(stack, final, worker["id"])
    assert sum(1 for e in final["edits"] if is_final(e)) == 1
    assert len(stack.bot_messages()) == 1
