"""Web API clients per workspace: from the one bot token, or from the OAuth installation store;
and the Slack surface speaking to each run's workspace with that workspace's token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.oauth.installation_store import Installation

from bot.core.views import LiveView, RunView
from bot.slack.clients import (
    FixedToken,
    InstalledTokens,
    NotInstalled,
    RateLimitRetryHandler,
    TeamClients,
    retry_after,
)
from bot.slack.installations import InstallationStore, installed_bots
from bot.slack.publisher import SlackSurface
from bot.store import Store
from emulators.credentials import BOT_TOKEN
from emulators.harness import Child
from tests.slack_emulator import emulator, seeded_run

BASE = "https://slack.example/api/"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def installation(team: str, token: str, scopes: str = "chat:write,commands") -> Installation:
    return Installation(
        app_id="A0001",
        team_id=team,
        team_name=f"Team {team}",
        bot_token=token,
        bot_id=f"B{team}",
        bot_user_id=f"U{team}",
        bot_scopes=scopes,
        user_id="U0001",
        installed_at=None,
    )


async def test_one_token_serves_every_team_and_clients_are_reused() -> None:
    clients = TeamClients(FixedToken("xoxb-one"), BASE)
    first = await clients.client_for("T1")
    assert first.token == "xoxb-one" and first.base_url == BASE
    assert await clients.client_for("T1") is first
    paced = await clients.edit_client_for("T1")
    assert paced is not first and paced.token == "xoxb-one"
    assert not any(isinstance(h, RateLimitRetryHandler) for h in paced.retry_handlers)
    assert any(isinstance(h, RateLimitRetryHandler) for h in first.retry_handlers)
    assert (await clients.client_for("T2")).token == "xoxb-one"
    with pytest.raises(NotInstalled):
        await TeamClients(FixedToken(None), BASE).client_for("T1")


async def test_installed_tokens_per_team_cached_reinstalls_and_uninstalls(tmp_path: Path) -> None:
    store = InstallationStore(tmp_path / "data" / "installs.db", client_id="cid")
    clock = Clock()
    clients = TeamClients(InstalledTokens(store), BASE, ttl=60, clock=clock)
    store.listeners.append(clients.forget)
    with pytest.raises(NotInstalled) as info:
        await clients.client_for("T1")
    assert info.value.team_id == "T1"

    await store.async_save(installation("T1", "xoxb-one"))
    await store.async_save(installation("T2", "xoxb-two"))
    one, two = await clients.client_for("T1"), await clients.client_for("T2")
    assert (one.token, two.token) == ("xoxb-one", "xoxb-two")
    assert (await clients.edit_client_for("T2")).token == "xoxb-two"

    # A token changed behind the app's back is noticed when the cache entry is re-checked.
    store.save(installation("T1", "xoxb-one-again"))  # sync save: no listener
    assert (await clients.client_for("T1")).token == "xoxb-one"
    clock.now = 61
    assert (await clients.client_for("T1")).token == "xoxb-one-again"
    # Through the async API (Bolt's OAuth flow) the change is seen at once.
    await store.async_save(installation("T1", "xoxb-one-third"))
    assert (await clients.client_for("T1")).token == "xoxb-one-third"

    await store.async_delete_all(enterprise_id=None, team_id="T1")
    with pytest.raises(NotInstalled):
        await clients.client_for("T1")
    assert (await clients.client_for("T2")).token == "xoxb-two"
    bots = installed_bots(tmp_path / "data" / "installs.db", "cid")
    assert [(b.team_id, b.team_name, b.bot_scopes) for b in bots] == [
        ("T2", "Team T2", ("chat:write", "commands"))
    ]
    assert installed_bots(tmp_path / "none.db", "cid") == []
    assert installed_bots(tmp_path / "data" / "installs.db", "other-client") == []


def test_retry_after_is_read_whole_from_any_transport() -> None:
    """aiohttp gives header values as strings, other transports as lists; slack_sdk's own
    handler read the first character of the string (30 s became 3 s)."""
    proxy = CIMultiDictProxy(CIMultiDict({"Retry-After": "30"}))
    assert retry_after(HttpResponse(status_code=429, headers=proxy)) == 30  # type: ignore[arg-type]
    assert retry_after(HttpResponse(status_code=429, headers={"retry-after": ["12"]})) == 12
    assert retry_after(HttpResponse(status_code=429, headers={})) == 1
    assert retry_after(HttpResponse(status_code=429, headers={"Retry-After": ["soon"]})) == 1


# ---- the surface, against the Slack emulator with two workspaces --------------------------


@pytest.fixture(scope="module")
def slack() -> Iterator[Child]:
    with emulator("--rate-limits", "off") as server:
        yield server


class Tokens:
    """Installed tokens by team, as a test sets them."""

    def __init__(self) -> None:
        self.by_team: dict[str, str] = {}

    async def bot_token(self, team_id: str) -> str | None:
        return self.by_team.get(team_id)


def view(text: str) -> RunView:
    working = text != "done"
    return RunView(
        run_id=1,
        state="working" if working else "completed",
        requester="U0001",
        instruction="q",
        text=text,
    )


async def test_surface_posts_and_edits_with_each_runs_own_workspace_token(
    slack: Child, tmp_path: Path
) -> None:
    control = httpx.Client(base_url=slack.url)
    control.post("/_emulator/reset").raise_for_status()
    other = control.post("/_emulator/workspaces", json={}).json()["workspace"]
    other_channel = next(c["id"] for c in other["channels"] if c["name"] == "general")
    other_user = next(u["id"] for u in other["users"] if u["is_admin"])
    tokens = Tokens()
    tokens.by_team = {"T0001": BOT_TOKEN, other["id"]: other["bot_token"]}
    surface = SlackSurface(TeamClients(tokens, slack.url + "/api/"))
    store = Store(tmp_path / "state.db")
    runs = [
        await seeded_run(store, team_id=team, channel_id=channel, user_id=user)
        for team, channel, user in (
            ("T0001", "C0001", "U0001"),
            (other["id"], other_channel, other_user),
        )
    ]
    try:
        for run in runs:
            ts = await surface.open(run, view("working"))
            run = await store.update_run(run.id, message_ts=ts)
            surface.progress(run, LiveView(13, lambda: view("still working")))
            await surface.finish(run, view("done"))
    finally:
        await surface.aclose()
        await store.close()
    calls = control.get("/_emulator/calls").json()["calls"]
    for run in runs:
        made = [c for c in calls if c["args"].get("channel") == run.channel_id]
        assert {c["method"] for c in made} >= {"chat.postMessage", "chat.update"}
        assert {c["team"] for c in made} == {run.team_id} and all(c["ok"] for c in made)

    # Once a workspace is forgotten, its clients are gone and nothing is sent there.
    surface = SlackSurface(TeamClients(tokens, slack.url + "/api/"))
    del tokens.by_team["T0001"]
    surface.forget_workspace("T0001")
    with pytest.raises(NotInstalled):
        await surface.open(runs[0], view("again"))
    await asyncio.sleep(0)
    await surface.aclose()
    control.close()
