"""End to end, three replicas in Socket Mode on one PostgreSQL database (issue 15): 30 runs at
once plus thread follow-ups; one replica is killed (SIGKILL) and another stopped (SIGTERM)
mid-way, and a fresh one starts. Every run ends with its worker's answer exactly once: one
worker and one card each, no card left working, every follow-up answered once.

The follow-ups are still arriving when the kill comes: one that the killed replica had
acknowledged but not yet recorded is in the inbox, and taken over once its lease expires
(tests/test_bot_e2e_inbox.py holds a process in exactly that window); one it had not
acknowledged Slack sends again."""

from __future__ import annotations

from emulators.harness import Child, server
from tests.e2e import Stack, answer_shown, is_final, wait_until

RUNS = 30
FOLLOW_UPS = 10


def follow_ups(stack: Stack) -> int:
    [(count,)] = stack.rows("SELECT COUNT(*) FROM runs WHERE kind = 'continue'")
    return int(count)


def test_three_replicas_lose_and_double_nothing(idle_stack: Stack, replicas: list[Child]) -> None:
    stack = idle_stack

    def replica() -> Child:
        env = stack.bot_env(HANDINGER_LEASE_SECONDS="3")
        bot = server("bot", ["run"], env=env, cwd=stack.tmp)
        replicas.append(bot)
        return bot

    killed, stopped, _ = replica(), replica(), replica()
    for n in range(RUNS):
        result = stack.slash(f"question {n} [[duration=6]]")
        assert result["ok"] and result["acked"], result
    cards = wait_until(
        lambda: stack.bot_messages() if len(stack.bot_messages()) >= FOLLOW_UPS else None,
        timeout=90,
        what="the first cards",
    )
    threads = [card["ts"] for card in cards[:FOLLOW_UPS]]
    for ts in threads:
        stack.post("and one more thing", thread_ts=ts, user="U0002")
    killed.kill()  # with follow-ups in flight: see the module's docstring
    stopped.stop()
    replica()  # a fresh one

    finals = stack.wait_final_card(count=RUNS, timeout=240)
    assert len(stack.bot_messages()) == RUNS
    workers = {worker["id"]: worker for worker in stack.workers()}
    assert len(workers) == RUNS  # no second worker for any run
    for card in finals:
        assert card["text"].startswith("✅"), card["text"]
        assert sum(1 for edit in card["edits"] if is_final(edit)) == 1, card["edits"]
    wait_until(lambda: follow_ups(stack) >= FOLLOW_UPS or None, what="the follow-ups recorded")
    for ts in threads:
        [reply] = stack.wait_final_reply(ts, 1)
        worker = next(w for w in workers.values() if w["id"] in str(reply["blocks"]))
        assert worker["inputs"][1:] == ["and one more thing"]  # answered once
        answer_shown(stack, reply, worker["id"])
    for card in finals:  # a worker's latest answer is its first where nobody followed up
        if card["ts"] not in threads:
            answer_shown(stack, card, next(w for w in workers if w in str(card["blocks"])))
    assert follow_ups(stack) == FOLLOW_UPS  # each recorded once
