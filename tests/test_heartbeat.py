"""An idle process's heartbeat, as `serve` builds it, on both engines: what it costs the
database each beat is a handful of statements, whatever the tables hold (ARCHITECTURE.md)."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.main import _assemble
from tests.settings_env import clear_settings_env
from tests.stores import Backend


async def test_an_idle_process_sends_three_statements_a_beat(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_settings_env(monkeypatch, backend.sqlite_path.parent.parent)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-idle",
        "SLACK_SIGNING_SECRET": "secret",
        "HANDINGER_API_KEY": "key",
        "HANDINGER_DB": str(backend.sqlite_path),
        **({"DATABASE_URL": backend.url} if backend.url else {}),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parts = await _assemble(load_settings(env_file=None))
    try:
        heartbeat = parts.heartbeat()
        heartbeat.digests = True  # as after the schedule watcher's start-up
        await heartbeat.beat()  # the first also renews the Slack requests it may have had
        tally = parts.store.db.tally
        for _ in range(3):
            before = tally.statements
            await heartbeat.beat()
            # The takeover scan, the Slack requests of dead processes, the departures; no
            # renewal: it holds no lease and has no Slack request pending.
            assert tally.statements - before == 3
        assert await parts.inbox.receive("event:Ev1", "event", {"event_id": "Ev1"})
        before = tally.statements
        await heartbeat.beat()
        assert tally.statements - before == 4  # and renews the request it wrote down
    finally:
        await parts.handinger.aclose()
        await parts.store.close()
