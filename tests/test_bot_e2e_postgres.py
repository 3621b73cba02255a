"""End to end on PostgreSQL: the bot as a real process with `DATABASE_URL`, between the
emulators, keeps all its state there (no SQLite file appears) and reports the database in
`/healthz`; a restart finishes the turn that was in flight from what PostgreSQL kept."""

from __future__ import annotations

import httpx
import psycopg

from emulators.postgres import Cluster
from tests.e2e import Stack, answer_shown, is_final, wait_until


def test_a_command_and_a_thread_reply_on_postgresql(idle_stack: Stack, postgres_url: str) -> None:
    stack = idle_stack
    stack.database_url = postgres_url
    bot = stack.start_bot()
    health = httpx.get(f"{bot.url}/healthz").json()
    assert health["ok"] is True and health["database"] == "ok"

    stack.slash("What changed this week?")
    [card] = stack.wait_final_card()
    stack.post("And last week?", thread_ts=card["ts"], user="U0002")
    [reply] = stack.wait_final_reply(card["ts"], 1)
    [worker] = stack.workers()
    assert worker["inputs"] == ["What changed this week?", "And last week?"]
    answer_shown(stack, reply, worker["id"])
    assert not list(stack.tmp.glob("*.db"))  # nothing went to a SQLite file
    with psycopg.connect(postgres_url) as conn:
        runs = conn.execute("SELECT kind, status FROM runs ORDER BY id").fetchall()
        linked = conn.execute("SELECT worker_id FROM threads").fetchall()
    assert runs == [("new", "completed"), ("continue", "completed")]
    assert linked == [(worker["id"],)]


def test_a_restart_on_postgresql_finishes_the_turn_in_flight(
    idle_stack: Stack, postgres_url: str
) -> None:
    stack = idle_stack
    stack.database_url = postgres_url
    bot = stack.start_bot()
    stack.slash("A slow one [[duration=6]]")
    wait_until(lambda: [m for m in stack.bot_messages() if not is_final(m)], what="the card")
    bot.stop()
    stack.start_bot()
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    assert card["text"].startswith("✅")
    answer_shown(stack, card, worker["id"])
    assert len(stack.bot_messages()) == 1  # the same card, finished once


def test_a_database_restart_in_the_middle_of_runs(idle_stack: Stack) -> None:
    """The server restarts while three turns stream: the bot waits it out (one log line for
    the whole outage, however often `/healthz` is asked), and every card ends ✅ once when the
    database is back."""
    stack = idle_stack
    cluster = Cluster()  # a server of its own, to restart
    try:
        stack.database_url = cluster.database()
        bot = stack.start_bot(HANDINGER_LEASE_SECONDS="3")  # a heartbeat every second
        for n in range(3):
            stack.slash(f"question {n} [[duration=5]]")
        wait_until(lambda: len(stack.bot_messages()) == 3 or None, what="three cards")
        cluster.halt("fast")
        wait_until(
            lambda: any("does not answer" in line for line in bot.output) or None,
            what="the bot to notice the outage",
        )
        for _ in range(2):  # probes during the outage: 503 with why, and no log line each
            down = httpx.get(f"{bot.url}/healthz", timeout=10)
            assert down.status_code == 503
            assert down.json()["database"] == "unreachable: no answer within 3 s"
            assert httpx.get(f"{bot.url}/livez", timeout=10).json() == {"ok": True}  # alive
        cluster.start()
        finals = stack.wait_final_card(count=3, timeout=90)
        assert all(card["text"].startswith("✅") for card in finals)
        for card in finals:
            assert sum(1 for edit in card["edits"] if is_final(edit)) == 1, card["edits"]
        assert len(stack.workers()) == 3
        warnings = [line for line in bot.output if " WARNING " in line or " ERROR " in line]
        assert len(warnings) == 1 and "does not answer" in warnings[0], warnings
        assert httpx.get(f"{bot.url}/healthz").json()["database"] == "ok"
        assert "Traceback" not in "\n".join(bot.output), "\n".join(bot.output[-60:])
    finally:
        stack.stop()
        cluster.stop()


def test_sigterm_during_a_database_outage(idle_stack: Stack) -> None:
    """SIGTERM while the database is away: the process exits at once instead of waiting for
    the server to release its leases (a container's grace period would end in SIGKILL);
    they expire, and the next process finishes every run once the database is back."""
    stack = idle_stack
    cluster = Cluster()
    try:
        stack.database_url = cluster.database()
        bot = stack.start_bot(HANDINGER_LEASE_SECONDS="3")
        for n in range(3):
            stack.slash(f"question {n} [[duration=6]]")
        wait_until(lambda: len(stack.bot_messages()) == 3 or None, what="three cards")
        cluster.halt("fast")
        bot.stop(timeout=30)
        assert bot.proc.returncode == 0, "\n".join(bot.output[-40:])  # not SIGKILLed
        told = [line for line in bot.output if " WARNING " in line]
        assert any("leases not released" in line for line in told), told
        assert "Traceback" not in "\n".join(bot.output), "\n".join(bot.output[-60:])
        cluster.start()
        stack.start_bot(HANDINGER_LEASE_SECONDS="3")
        finals = stack.wait_final_card(count=3, timeout=90)
        assert all(card["text"].startswith("✅") for card in finals)
        for card in finals:
            assert sum(1 for edit in card["edits"] if is_final(edit)) == 1, card["edits"]
        assert len(stack.workers()) == 3
    finally:
        stack.stop()
        cluster.stop()
