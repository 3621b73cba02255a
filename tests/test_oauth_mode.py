"""OAuth mode's settings, and `doctor` checking every installed workspace (against emulators)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, load_settings
from bot.logs import configured_secrets
from bot.manifest import build_manifest
from bot.slack.installations import (
    CachedAuthorize,
    InstallationStore,
    authorization_url,
    oauth_settings,
)
from bot.slack.scopes import required_scopes
from emulators.credentials import BOT_TOKEN
from emulators.harness import Emulators
from tests.doctor_helpers import Doctor, installed_env
from tests.settings_env import clear_settings_env


@pytest.fixture
def env(emulators: Emulators, tmp_path: Path) -> dict[str, str]:
    return installed_env(emulators, tmp_path)


OAUTH = {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "oauth-client-s3cret"}


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    clear_settings_env(monkeypatch, tmp_path)
    return monkeypatch


def test_client_id_and_secret_switch_to_oauth_mode(clean: pytest.MonkeyPatch) -> None:
    for name, value in {**OAUTH, "SLACK_SIGNING_SECRET": "sig", "HANDINGER_API_KEY": "k"}.items():
        clean.setenv(name, value)
    clean.setenv("HANDINGER_DB", "/data/handinger-slack.db")
    settings = load_settings()
    assert settings.oauth and settings.mode == "http"
    assert settings.missing_for_run() == []  # no SLACK_BOT_TOKEN needed
    assert settings.installations_db == Path("/data/handinger-slack-installations.db")
    assert "oauth-client-s3cret" in configured_secrets(settings)
    built = oauth_settings(settings, InstallationStore(Path("/tmp/never-used.db"), "111.222"))
    assert built.scopes == list(required_scopes()) and built.user_scopes == []
    assert built.install_path == "/slack/install"
    assert built.redirect_uri_path == "/slack/oauth_redirect"
    assert built.authorization_url == "https://slack.com/oauth/v2/authorize"
    assert built.installation_store_bot_only

    clean.delenv("SLACK_SIGNING_SECRET")
    assert any("SLACK_SIGNING_SECRET" in m for m in load_settings().missing_for_run())


def test_half_or_conflicting_oauth_settings_are_explained(clean: pytest.MonkeyPatch) -> None:
    clean.setenv("SLACK_CLIENT_ID", "111.222")
    with pytest.raises(ConfigError, match="go together"):
        load_settings()
    clean.setenv("SLACK_CLIENT_SECRET", "x")
    clean.setenv("SLACK_APP_TOKEN", "xapp-1")
    with pytest.raises(ConfigError, match="HTTP mode"):
        load_settings()
    clean.delenv("SLACK_APP_TOKEN")
    clean.setenv("SLACK_REDIRECT_URI", "not a url")
    with pytest.raises(ConfigError, match="SLACK_REDIRECT_URI"):
        load_settings()
    clean.setenv("SLACK_CLIENT_ID", "")
    clean.setenv("SLACK_CLIENT_SECRET", " ")
    clean.delenv("SLACK_REDIRECT_URI")
    assert not load_settings().oauth  # blank means unset


def test_the_authorize_page_sits_beside_the_web_api() -> None:
    assert authorization_url("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"
    assert authorization_url("http://127.0.0.1:5/api/") == "http://127.0.0.1:5/oauth/v2/authorize"
    assert authorization_url("https://proxy.example/x/") == "https://slack.com/oauth/v2/authorize"


def test_http_manifest_registers_the_redirect_url() -> None:
    manifest = build_manifest("https://bot.example/")
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example/slack/oauth_redirect"]
    assert "redirect_urls" not in build_manifest()["oauth_config"]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)


# ---- doctor --------------------------------------------------------------------------------


def oauth_env(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        **OAUTH,
        "SLACK_BOT_TOKEN": "",
        "SLACK_APP_TOKEN": "",
        "SLACK_SIGNING_SECRET": "s",
    }


def install(env: dict[str, str], team: str, token: str, scopes: str) -> None:
    db = Path(env["HANDINGER_DB"])
    store = InstallationStore(db.with_name(db.stem + "-installations.db"), OAUTH["SLACK_CLIENT_ID"])
    store.save(
        Installation(
            app_id="A0001",
            team_id=team,
            team_name=f"Team {team}",
            bot_token=token,
            bot_id="B0001",
            bot_user_id="U0BOT",
            bot_scopes=scopes,
            user_id="U0001",
        )
    )


def test_doctor_without_installations_warns_where_to_install(
    env: dict[str, str], run_doctor: Doctor
) -> None:
    status, lines = run_doctor(oauth_env(env))
    assert status == 0, lines
    assert lines["configuration"].startswith("✓ configuration: HTTP mode with OAuth installs")
    assert "/slack/oauth_redirect" in lines["configuration"]
    warning = lines["Slack installations"]
    assert warning.startswith("! Slack installations: no workspace has installed the app yet")
    assert "/slack/install" in warning
    assert "Slack bot token" not in lines
    assert "oauth-client-s3cret" not in "\n".join(lines.values())


def test_doctor_checks_every_installed_workspace(env: dict[str, str], run_doctor: Doctor) -> None:
    install(env, "T0001", BOT_TOKEN, ",".join(required_scopes()))
    install(env, "T0777", "xoxb-revoked-long-ago", ",".join(required_scopes()))
    install(env, "T0888", BOT_TOKEN, "chat:write")  # the emulator's token, too few scopes
    # A server that reports no scopes (no `x-oauth-scopes`): the installs' own are compared.
    with httpx.Client(base_url=env["SLACK_API_URL"].removesuffix("/api/")) as slack:
        slack.post("/_emulator/scopes", json={"scopes": []}).raise_for_status()
        try:
            status, lines = run_doctor(oauth_env(env))
        finally:
            slack.post("/_emulator/reset").raise_for_status()
    assert status == 1
    assert lines["Slack installations"].startswith(
        "✓ Slack installations: 3 workspaces: Team T0001"
    )
    assert lines["Slack workspace T0001"].startswith("✓ Slack workspace T0001: auth.test ok")
    assert lines["Slack scopes T0001"].startswith("✓ Slack scopes T0001: all ")
    assert "(as granted at install)" in lines["Slack scopes T0001"]
    failed = lines["Slack workspace T0777"]
    assert failed.startswith("✗ Slack workspace T0777: auth.test failed: invalid_auth")
    assert "reinstall" in failed
    assert "Slack scopes T0777" not in lines
    assert lines["Slack scopes T0888"].startswith("✗ Slack scopes T0888: missing ")
    assert "reinstall" in lines["Slack scopes T0888"]
    assert lines["summary"] == "2 checks failed."
    assert "xoxb-" not in "\n".join(lines.values())


async def test_bot_lookups_come_from_memory_and_every_change_is_seen(tmp_path: Path) -> None:
    store = InstallationStore(tmp_path / "installations.db", OAUTH["SLACK_CLIENT_ID"])
    changed: list[str | None] = []
    store.listeners.append(changed.append)

    def installation(token: str) -> Installation:
        return Installation(
            app_id="A0001",
            team_id="T0042",
            bot_token=token,
            bot_id="B0001",
            bot_user_id="U0BOT",
            user_id="U0001",
        )

    assert await store.async_find_bot(enterprise_id=None, team_id="T0042") is None
    await store.async_save(installation("xoxb-first"))  # installed after a lookup missed
    found = await store.async_find_bot(enterprise_id=None, team_id="T0042")
    assert found is not None and found.bot_token == "xoxb-first"
    with sqlite3.connect(tmp_path / "installations.db") as db:  # behind the store's back
        db.execute("UPDATE slack_bots SET bot_token = 'xoxb-changed-elsewhere'")
    cached = await store.async_find_bot(enterprise_id=None, team_id="T0042")
    assert cached is not None and cached.bot_token == "xoxb-first"  # served from memory
    store.save(installation("xoxb-reinstalled"))  # the sync API empties the memory too
    again = await store.async_find_bot(enterprise_id=None, team_id="T0042")
    assert again is not None and again.bot_token == "xoxb-reinstalled"
    await store.async_delete_bot(enterprise_id=None, team_id="T0042")
    assert await store.async_find_bot(enterprise_id=None, team_id="T0042") is None
    assert changed == ["T0042", "T0042"]  # the async API also tells the listeners


async def test_each_token_is_checked_with_slack_once_per_ttl(
    emulators: Emulators, tmp_path: Path
) -> None:
    slack, _ = emulators
    store = InstallationStore(tmp_path / "installations.db", OAUTH["SLACK_CLIENT_ID"])
    store.save(
        Installation(
            app_id="A0001",
            team_id="T0001",
            bot_token=BOT_TOKEN,
            bot_id="B0001",
            bot_user_id="U0BOT",
            user_id="U0001",
        )
    )
    now = [0.0]
    authorize = CachedAuthorize(store, "111.222", "s3cret", ttl=60, clock=lambda: now[0])
    context = AsyncBoltContext({"client": AsyncWebClient(base_url=f"{slack.url}/api/")})

    def checks() -> int:
        calls = httpx.get(f"{slack.url}/_emulator/calls", params={"method": "auth.test"})
        return len(calls.json()["calls"])

    before = checks()
    for now[0] in (0.0, 10.0, 59.0, 60.0, 61.0):
        result = await authorize(
            context=context, enterprise_id=None, team_id="T0001", user_id="U0001"
        )
        assert result is not None and result.bot_token == BOT_TOKEN
        assert result.bot_user_id == "U0BOT"
    assert checks() - before == 2  # at 0 and again once 60 s had passed
