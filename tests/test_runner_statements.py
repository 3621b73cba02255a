"""What one run costs the database, on both engines: its own statements, a count (issue 15:
every statement is a round trip on PostgreSQL, and replicas share one database). Updates of
the run row that happen at the same moment go in one statement: the message with the create's
key, and the outcome with "no files owed" when the worker has none."""

from __future__ import annotations

import asyncio

from bot.core.files import FileDelivery
from bot.core.runner import Runner
from bot.handinger import HandingerClient
from tests.runner_helpers import FAST, RecordingSurface
from tests.stores import Backend


async def test_a_run_without_files_costs_twelve_statements(
    backend: Backend, handinger: HandingerClient
) -> None:
    store = await backend.open()
    surface = RecordingSurface()
    files = FileDelivery(store, handinger, surface, max_bytes=1_000_000)  # type: ignore[arg-type]
    runner = Runner(store, handinger, surface, policy=FAST, files=files)
    before = store.db.tally.statements
    run = await runner.start_new(team_id="T1", channel_id="C1", user_id="U1", instruction="hi")
    await asyncio.wait_for(runner.wait_idle(), 20)
    # insert with its lease; re-read, pending schedule; message with the create's key; worker
    # bound, thread linked; history seen, reply mode, cost; outcome (no files owed); next
    # queued follow-up of the thread; lease released. SQLite has no insert into two tables in
    # one statement: the insert and its lease are a transaction (BEGIN, COMMIT: two more, on
    # a local file; a run answering a Slack request is one transaction already).
    expected = 12 if backend.kind == "postgresql" else 15
    assert store.db.tally.statements - before == expected
    done = await store.get_run(run.id)
    assert done.status == "completed" and done.files_done == 1 and done.final_pending is None
    assert done.ref is not None and done.request_sent_at is not None
    await runner.aclose()
