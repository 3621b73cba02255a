"""manifest.yml: valid for Slack, in step with the code, and exactly the scopes the code needs."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.manifest import build_manifest, render_manifest, request_url
from bot.slack.app import EVENTS_PATH
from bot.slack.listeners.commands import COMMAND
from bot.slack.scopes import (
    APP_LEVEL_SCOPES,
    BOT_EVENTS,
    EVENT_SCOPES,
    IMPLICIT_METHODS,
    SCOPES_BY_METHOD,
    UnknownMethodError,
    called_methods,
    methods_in_source,
    required_scopes,
    scopes_for,
)

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"
SCHEMA = Path(__file__).parent / "data" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"
"""Slack's published manifest schema (MIT, LICENSE beside it), vendored so the check runs."""
HTTP_URL = "https://handinger.example.com"

MESSAGE_EVENTS = {"message.channels", "message.groups", "message.im", "message.mpim"}
"""What a Bolt `message` listener receives, one subscription per conversation type."""


def load_manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return data


def bot_scopes(manifest: dict[str, Any]) -> list[str]:
    scopes: list[str] = manifest["oauth_config"]["scopes"]["bot"]
    return scopes


# ---- scopes: the code, the table and the manifest agree -------------------------------------


def test_the_scanner_finds_the_calls_the_app_is_known_to_make() -> None:
    called = called_methods()
    for method in (
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "reactions.add",
        "reactions.remove",
        "conversations.join",
        "files.getUploadURLExternal",  # files_upload_v2 calls both
        "files.completeUploadExternal",
    ):
        assert method in called, f"{method} not found: is the scanner still working?"
    assert all(module.startswith("bot/") for modules in called.values() for module in modules)
    assert not any("sandbox" in m for modules in called.values() for m in modules)


def test_every_web_api_method_the_code_calls_has_a_scope_entry() -> None:
    called = called_methods()
    unknown = {
        method: modules
        for method, modules in called.items()
        if method not in SCOPES_BY_METHOD and method not in APP_LEVEL_SCOPES
    }
    assert not unknown, (
        f"no scope entry for {unknown}: look up the method's scopes on docs.slack.dev and add "
        "them to SCOPES_BY_METHOD in bot/slack/scopes.py (then update manifest.yml)"
    )
    for method in IMPLICIT_METHODS:
        assert method in SCOPES_BY_METHOD or method in APP_LEVEL_SCOPES


def test_manifest_has_every_required_scope_and_no_other() -> None:
    granted = bot_scopes(load_manifest())
    required = set(required_scopes())
    missing = sorted(required - set(granted))
    unneeded = sorted(set(granted) - required)
    assert not missing, f"manifest.yml lacks scopes the code needs: {missing}"
    assert not unneeded, f"manifest.yml asks for scopes nothing in the code needs: {unneeded}"
    assert len(granted) == len(set(granted)), "a scope is listed twice"


def test_required_scopes_today() -> None:
    """The list an admin approves; a change here is a change to what the app may do."""
    assert required_scopes() == (
        "app_mentions:read",
        "assistant:write",
        "channels:history",
        "channels:join",
        "chat:write",
        "commands",
        "files:read",
        "files:write",
        "groups:history",
        "im:history",
        "mpim:history",
        "reactions:write",
        "users:read",
    )


def test_methods_later_issues_call_are_already_in_the_table() -> None:
    for method in ("views.open", "views.publish", "chat.getPermalink", "auth.test"):
        assert SCOPES_BY_METHOD[method] == frozenset()
    assert SCOPES_BY_METHOD["users.info"] == {"users:read"}
    assert {"channels:read", "groups:read"} <= SCOPES_BY_METHOD["conversations.info"]
    assert "connections:write" in APP_LEVEL_SCOPES["apps.connections.open"]


def test_scanner_recognises_each_way_of_calling_the_web_api(tmp_path: Path) -> None:
    source = """
async def f(client, self, say, app):
    await client.users_info(user="U1")
    await self.client.files_upload_v2(channel="C1", content="x")
    await client.api_call("team.info")
    await client.api_call(api_method="bots.info")
    await client.api_call(name)
    await say("hi")
    await app.client.views_open(trigger_id="t", view={})
    self.edits.update("T1", ("C1", "1.2"), None)   # not a Slack client method
    runner.start_new(team_id="T1")
"""
    assert sorted(methods_in_source(source)) == [
        "api_call(?)",
        "bots.info",
        "chat.postMessage",
        "files.completeUploadExternal",
        "files.getUploadURLExternal",
        "team.info",
        "users.info",
        "views.open",
    ]
    (tmp_path / "app.py").write_text(
        "async def g(c):\n    await c.chat_delete(channel='C', ts='1')\n"
    )
    assert called_methods(tmp_path) == {"chat.delete": [f"{tmp_path.name}/app.py"]}


def test_a_method_without_a_table_entry_is_an_error_not_a_silent_pass() -> None:
    with pytest.raises(UnknownMethodError, match=r"team\.info"):
        scopes_for(["chat.postMessage", "team.info"])
    assert "users:read" in required_scopes(["users.info"])


def test_manifest_events_are_the_ones_the_listeners_handle() -> None:
    """Every `@app.event(...)` in bot/slack has its subscriptions, and nothing more is asked."""
    handled: set[str] = set()
    for path in (ROOT / "bot" / "slack").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "event"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                handled.add(str(node.args[0].value))
    expected = set()
    for event in handled:
        expected |= MESSAGE_EVENTS if event == "message" else {event}
    manifest_events = set(load_manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert manifest_events == expected == set(BOT_EVENTS)
    assert all(event in EVENT_SCOPES for event in BOT_EVENTS)


# ---- the file, the generator and the CLI ------------------------------------------------------


def test_manifest_file_is_what_the_generator_makes() -> None:
    assert load_manifest() == build_manifest(), (
        "manifest.yml is out of date: run `handinger-slack manifest > manifest.yml`"
    )
    assert MANIFEST.read_text(encoding="utf-8") == render_manifest()


def test_socket_mode_manifest() -> None:
    manifest = load_manifest()
    features, settings = manifest["features"], manifest["settings"]
    assert manifest["display_information"]["name"] == "Handinger"
    assert features["bot_user"] == {"display_name": "Handinger", "always_online": True}
    [command] = features["slash_commands"]
    assert command["command"] == COMMAND == "/handinger"
    assert command["description"] and command["usage_hint"]
    assert "url" not in command
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"] == {"is_enabled": True}
    assert "request_url" not in settings["event_subscriptions"]
    assert features["app_home"]["messages_tab_enabled"] is True  # DMs to the app


def test_http_mode_manifest_points_every_request_url_at_slack_events() -> None:
    manifest = build_manifest(HTTP_URL + "/")
    url = HTTP_URL + EVENTS_PATH
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert manifest["features"]["slash_commands"][0]["url"] == url
    assert settings["event_subscriptions"]["request_url"] == url
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}
    assert bot_scopes(manifest) == bot_scopes(load_manifest())


def test_request_url_accepts_a_base_or_a_full_url_and_rejects_nonsense() -> None:
    assert request_url("https://x.example/") == "https://x.example/slack/events"
    assert request_url("https://x.example/slack/events") == "https://x.example/slack/events"
    assert request_url("https://x.example/bot") == "https://x.example/bot/slack/events"
    for bad in ("x.example", "ftp://x.example", "https://", "https://a b"):
        with pytest.raises(ValueError):
            request_url(bad)


def test_cli_prints_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == load_manifest()
    assert main(["manifest", "--http-url", HTTP_URL]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["settings"]["socket_mode_enabled"] is False
    assert main(["manifest", "--http-url", "not a url"]) == 2
    assert "--http-url" in capsys.readouterr().err


# ---- validity for Slack -----------------------------------------------------------------------

VARIANTS: dict[str, Callable[[], dict[str, Any]]] = {
    "manifest.yml": load_manifest,
    "http mode": lambda: build_manifest(HTTP_URL),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_manifest_structure(variant: str) -> None:
    """Limits the v1 schema states, spelled out so a failure names the rule broken."""
    manifest = VARIANTS[variant]()
    allowed_top = {"_metadata", "display_information", "features", "oauth_config", "settings"}
    assert set(manifest) <= allowed_top
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35 and 1 <= len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    assert 4 <= len(info["background_color"]) <= 7 and info["background_color"].startswith("#")
    assert 1 <= len(manifest["features"]["bot_user"]["display_name"]) <= 80
    for command in manifest["features"]["slash_commands"]:
        assert command["command"].startswith("/") and 2 <= len(command["command"]) <= 32
        assert 1 <= len(command["description"]) <= 2000 and 1 <= len(command["usage_hint"]) <= 1000
        assert isinstance(command["should_escape"], bool)
    scopes = bot_scopes(manifest)
    assert all(isinstance(s, str) and 0 < len(s) <= 50 for s in scopes) and len(scopes) <= 255
    settings = manifest["settings"]
    events = settings["event_subscriptions"]["bot_events"]
    assert len(events) == len(set(events)) <= 100
    assert isinstance(settings["interactivity"]["is_enabled"], bool)
    for flag in ("socket_mode_enabled", "org_deploy_enabled", "token_rotation_enabled"):
        assert isinstance(settings[flag], bool)
    for url in (
        settings["event_subscriptions"].get("request_url"),
        settings["interactivity"].get("request_url"),
    ):
        assert url is None or (url.startswith(("https://", "http://")) and len(url) <= 3000)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_manifest_validates_against_slacks_schema(variant: str) -> None:
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    errors = sorted(Draft7Validator(schema).iter_errors(VARIANTS[variant]()), key=str)
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def test_the_schema_check_would_catch_a_broken_manifest() -> None:
    from jsonschema import Draft7Validator

    validator = Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    broken = build_manifest()
    broken["features"]["slash_commands"][0]["command"] = "handinger"
    broken["settings"]["socket_mode"] = True
    messages = " ".join(e.message for e in validator.iter_errors(broken))
    assert "does not match" in messages and "Additional properties" in messages
