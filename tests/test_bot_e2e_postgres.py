"""End to end on PostgreSQL: the bot as a real process with `DATABASE_URL`, between the
emulators, keeps all its state there (no SQLite file appears) and reports the database in
`/healthz`; a restart finishes the turn that was in flight from what PostgreSQL kept."""

from __future__ import annotations

import httpx
import psycopg

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
