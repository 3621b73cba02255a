"""End to end, a rolling deploy as an operator does one (issue 15): bot A runs; bot B starts
on the same database while commands keep arriving (Slack hands each to one of the two
connections); A gets SIGTERM with runs in flight. On a shared SQLite file and on PostgreSQL,
every command ends ✅ exactly once: one worker each, one card each, none left working."""

from __future__ import annotations

import pytest

from emulators.harness import Child, server
from tests.e2e import Stack, is_final, wait_until


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_a_rolling_deploy_finishes_every_command_once(
    engine_stack: Stack, children: list[Child], stop: str
) -> None:
    """SIGTERM: the old process lets go and the new one takes over at once; SIGKILL (a crash
    mid-deploy): once the old one's leases expire."""
    stack = engine_stack
    # After SIGTERM the takeover cannot wait for expiry: the leases outlast the test.
    settings = {"HANDINGER_LEASE_SECONDS": "3" if stop == "sigkill" else "600"}
    old = stack.start_bot(**settings)
    asked = 0

    def ask(count: int) -> None:
        nonlocal asked
        for _ in range(count):
            asked += 1
            result = stack.slash(f"question {asked} [[duration=3]]")
            assert result["ok"] and result["acked"], result

    ask(4)
    wait_until(lambda: len(stack.bot_messages()) >= 4 or None, what="the first cards")
    new = server("bot", ["run"], env=stack.bot_env(**settings), cwd=stack.tmp)
    children.append(new)  # the new version comes up beside the old one
    ask(4)
    wait_until(lambda: len(stack.bot_messages()) >= 8 or None, what="the cards of both")
    if stop == "sigterm":
        old.stop()  # the old version goes away with runs in flight
    else:
        old.kill()
    ask(4)

    finals = stack.wait_final_card(count=12, timeout=90)
    cards = stack.bot_messages()
    assert len(cards) == 12 and all(is_final(card) for card in cards)
    assert all(card["text"].startswith("✅") for card in cards), [c["text"] for c in cards]
    workers = stack.workers()
    assert len(workers) == 12
    asked_for = sorted(f"question {n} [[duration=3]]" for n in range(1, 13))
    assert sorted(w["inputs"][0] for w in workers) == asked_for
    for card in finals:  # one final edit each: never finished twice
        assert sum(1 for edit in card["edits"] if is_final(edit)) == 1, card["edits"]
    assert "Traceback" not in "\n".join(new.output), "\n".join(new.output[-60:])
