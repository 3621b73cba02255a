"""OAuth installations and install-link states in the app's database, on both engines: an
install replaces the workspace's bot, an uninstall removes it for every replica, and a state
is redeemed once before it expires."""

from __future__ import annotations

import asyncio

from slack_sdk.oauth.installation_store import Installation

from bot.slack.installations_db import (
    DatabaseInstallationStore,
    DatabaseStateStore,
    create_tables,
    stored_bots,
)
from tests.stores import Backend, Clock


def installation(team: str, token: str) -> Installation:
    return Installation(
        app_id="A1",
        team_id=team,
        team_name=f"Team {team}",
        bot_token=token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes=["chat:write", "commands"],
        user_id="U1",
        installed_at=1_700_000_000.0,
    )


async def test_installs_are_seen_by_every_replica_and_uninstalls_too(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    await asyncio.gather(create_tables(one.db), create_tables(two.db))  # replicas starting
    first = DatabaseInstallationStore(one.db, "cid")
    second = DatabaseInstallationStore(two.db, "cid")
    heard: list[str | None] = []
    first.listeners.append(heard.append)

    await first.async_save(installation("T1", "xoxb-one"))
    await first.async_save(installation("T2", "xoxb-two"))
    await first.async_save(installation("T1", "xoxb-one-again"))  # installed again
    found = await second.async_find_bot(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == "xoxb-one-again"
    assert found.bot_scopes == ["chat:write", "commands"] and found.team_name == "Team T1"
    assert found.installed_at == 1_700_000_000.0
    other_app = DatabaseInstallationStore(one.db, "other-client")
    assert await other_app.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await second.async_find_installation(enterprise_id=None, team_id="T1") is None

    await second.async_delete_all(enterprise_id=None, team_id="T1")  # uninstalled
    assert await first.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert [b.team_id for b in await stored_bots(one.db, "cid")] == ["T2"]
    assert heard == ["T1", "T2", "T1"]


async def test_a_state_is_redeemed_once_and_only_before_it_expires(backend: Backend) -> None:
    store = await backend.open()
    await create_tables(store.db)
    clock = Clock()
    states = DatabaseStateStore(store.db, 600, clock=clock)
    issued = await states.async_issue()
    again = await states.async_issue()
    other = DatabaseStateStore((await backend.open()).db, 600, clock=clock)  # another replica
    assert await other.async_consume(issued)
    assert not await states.async_consume(issued)  # a replayed redirect
    assert not await states.async_consume("made-up")
    clock.now += 601
    assert not await states.async_consume(again)
