"""End to end, the move from one SQLite process to PostgreSQL as the README tells an operator
to make it: an OAuth install with runs, threads and a schedule on SQLite; the app stopped;
`handinger-slack migrate-db` run as a command; the app started with `DATABASE_URL`. The
workspace stays installed, and a reply in a thread from before the move continues the same
worker. A second copy is refused and changes nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import psycopg

from bot.migrate_db import TABLES
from tests.e2e import Stack, answer_shown, wait_until
from tests.test_bot_e2e_oauth import install


def migrate(stack: Stack, target: str) -> subprocess.CompletedProcess[str]:
    source = f"sqlite:///{stack.tmp / 'bot.db'}"
    command = [sys.executable, "-m", "bot", "migrate-db", "--from", source, "--to", target]
    env = {**stack.bot_env(), "DATABASE_URL": ""}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=stack.tmp)


def counts_in_sqlite(stack: Stack) -> dict[str, int]:
    with sqlite3.connect(stack.tmp / "bot.db") as db:
        return {t: int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES}


def counts_in_postgres(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in TABLES
        }


def test_an_oauth_install_on_sqlite_moves_to_postgresql(
    idle_stack: Stack, postgres_url: str
) -> None:
    stack = idle_stack
    base = stack.start_oauth_bot()
    install(stack, base, "T0001")
    stack.slash("What changed this week?")
    [card] = stack.wait_final_card()
    stack.post("And last week?", thread_ts=card["ts"], user="U0002")
    stack.wait_final_reply(card["ts"], 1)
    stack.slash("schedule every 1h watch the incidents")
    wait_until(lambda: counts_in_sqlite(stack)["schedules"] or None, what="the schedule")
    wait_until(
        lambda: len([m for m in stack.bot_messages() if m["text"].startswith("✅")]) >= 2 or None,
        what="the schedule's first run",
    )
    assert stack.bot is not None
    stack.bot.stop()
    before = counts_in_sqlite(stack)

    copied = migrate(stack, postgres_url)
    assert copied.returncode == 0, copied.stderr
    for table, count in before.items():
        assert f"{table}: {count} row(s)" in copied.stdout, copied.stdout
    assert "OAuth installations: 1" in copied.stdout
    assert counts_in_postgres(postgres_url) == before

    again = migrate(stack, postgres_url)
    assert again.returncode == 1
    assert "nothing was copied" in again.stderr and "already holds" in again.stderr
    assert "Traceback" not in again.stderr
    assert counts_in_postgres(postgres_url) == before

    (stack.tmp / "bot.db").rename(stack.tmp / "kept.db")  # the app must not need it any more
    (stack.tmp / "bot-installations.db").rename(stack.tmp / "kept-installations.db")
    stack.database_url = postgres_url
    stack.start_oauth_bot()
    stack.post("And the week before?", thread_ts=card["ts"], user="U0002")
    [_, reply] = stack.wait_final_reply(card["ts"], 2)
    [worker] = [w for w in stack.workers() if w["inputs"][0] == "What changed this week?"]
    assert worker["inputs"] == ["What changed this week?", "And last week?", "And the week before?"]
    answer_shown(stack, reply, worker["id"])
    assert len(stack.workers()) == 2  # the card's worker and the schedule's: none new
    assert not (stack.tmp / "bot.db").exists()
    assert stack.bot is not None
    assert "Traceback" not in "\n".join(stack.bot.output), "\n".join(stack.bot.output[-60:])
