"""End to end: a mention's options are the slash command's (`--budget`, `--help`, `--`), with
the same refusals, said privately to its author."""

from __future__ import annotations

from typing import Any

from tests.e2e import Stack, wait_until


def creates(stack: Stack) -> list[dict[str, Any]]:
    return [
        r["body"]
        for r in stack.handinger.get("/_emulator/requests").json()
        if r["method"] == "POST" and r["path"] == "/api/workers"
    ]


def test_a_mention_and_a_dm_run_on_the_budget_they_ask_for(stack: Stack) -> None:
    mention = stack.post("<@U0BOT> --budget low what changed in the API?")
    dm = stack.post("draft the release notes -b high", channel="D0001")
    stack.wait_final_reply(mention, 1)
    stack.wait_final_reply(dm, 1, channel="D0001")
    asked = sorted((b["input"], b["budget"]) for b in creates(stack))
    assert asked == [("draft the release notes", "high"), ("what changed in the API?", "low")]


def test_a_mentions_bad_options_are_refused_privately_and_start_nothing(stack: Stack) -> None:
    asked = [
        stack.post("<@U0BOT> --budget huge do it"),
        stack.post("<@U0BOT> --fast do it"),
        stack.post("<@U0BOT> --budget unlimited go"),
    ]
    said = wait_until(lambda: stack.ephemeral() if len(stack.ephemeral()) >= 3 else None)
    assert [e["thread_ts"] for e in said] == asked  # each in its mention's thread
    texts = [str(e["blocks"]) for e in said]
    assert "is not a budget" in texts[0] and "low, standard, high, unlimited" in texts[0]
    assert "Unknown option" in texts[1] and "`@Handinger -- --fast …`" in texts[1]
    assert "HANDINGER_MAX_BUDGET" in texts[2]
    stack.wait_final_reply(stack.post("<@U0BOT> a run after the refusals"), 1)
    assert len(stack.workers()) == 1 and len(stack.ephemeral()) == 3
