"""The Slack emulator's OAuth v2 install (`/oauth/v2/authorize`, `oauth.v2.access`) and
uninstall (`/_emulator/uninstall`), driven by slack_sdk's client as Bolt's OAuth flow uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulators.credentials import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET
from emulators.harness import Child
from tests.slack_emulator import Control, emulator

REDIRECT = "https://app.example/slack/oauth_redirect"


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    with emulator("--redirect-url", REDIRECT) as proc:
        yield proc


@pytest.fixture
def control(server: Child) -> Control:
    ctl = Control(server.url)
    ctl.reset()
    ctl.post("/_emulator/config", {"redirect_urls": [REDIRECT]})
    return ctl


def authorize(server: Child, **params: str) -> httpx.Response:
    query = {"client_id": CLIENT_ID, "scope": "chat:write,commands", "state": "s1", **params}
    return httpx.get(f"{server.url}/oauth/v2/authorize?{urlencode(query)}")


def code_from(response: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    return location, query


def api(server: Child, token: str | None = None) -> WebClient:
    return WebClient(token=token, base_url=server.url + "/api/")


def exchange(server: Child, code: str, **more: Any) -> Any:
    return api(server).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, **more
    )


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def test_install_into_a_new_workspace_gives_its_own_working_bot_token(
    server: Child, control: Control
) -> None:
    created = control.post("/_emulator/workspaces", {"installed": False})["workspace"]
    team, token = created["id"], created["bot_token"]
    assert created["installed"] is False
    assert error_of(api(server, token).auth_test) == "invalid_auth"
    channel = next(c["id"] for c in created["channels"] if c["name"] == "general")
    refused = control.http.post(
        "/_emulator/slash", json={"channel": channel, "user": created["users"][0]["id"]}
    )
    assert refused.status_code == 409 and refused.json()["error"] == "app_not_installed"

    location, query = code_from(authorize(server, team=team))
    assert location.startswith(REDIRECT + "?") and query["state"] == ["s1"]
    answer = exchange(server, query["code"][0])
    assert answer["ok"] and answer["token_type"] == "bot"
    assert answer["team"] == {"id": team, "name": created["name"]}
    assert answer["access_token"] == token and answer["bot_user_id"] == created["bot_user_id"]
    assert answer["app_id"] == "A0001" and answer["enterprise"] is None
    assert answer["is_enterprise_install"] is False
    assert answer["authed_user"]["id"] == created["users"][0]["id"]  # alice, the admin
    assert set(answer["scope"].split(",")) == {"chat:write", "commands"}
    me = api(server, token).auth_test()
    assert me["team_id"] == team and me["bot_id"] == created["bot_id"]
    [call] = control.calls(method="oauth.v2.access")
    assert call["team"] == team and call["ok"]
    listed = control.get("/_emulator/workspaces")["workspaces"]
    assert next(w for w in listed if w["id"] == team)["installed"] is True


def test_the_code_is_checked_once_and_the_client_must_authenticate(
    server: Child, control: Control
) -> None:
    _, query = code_from(authorize(server))
    code = query["code"][0]
    assert (
        error_of(
            lambda: api(server).oauth_v2_access(client_id="nope", client_secret="y", code=code)
        )
        == "invalid_client_id"
    )
    assert (
        error_of(
            lambda: api(server).oauth_v2_access(client_id=CLIENT_ID, client_secret="y", code=code)
        )
        == "bad_client_secret"
    )
    assert error_of(lambda: exchange(server, "not-a-code")) == "invalid_code"
    assert error_of(lambda: exchange(server, code, grant_type="refresh_token")) == (
        "invalid_grant_type"
    )
    assert exchange(server, code)["team"]["id"] == "T0001"
    assert error_of(lambda: exchange(server, code)) == "invalid_code"  # used already
    # The parameters instead of HTTP Basic work too.
    _, query = code_from(authorize(server))
    body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": query["code"][0]}
    answered = httpx.post(f"{server.url}/api/oauth.v2.access", data=body).json()
    assert answered["ok"] and answered["access_token"] == BOT_TOKEN


def test_redirect_uri_rules(server: Child, control: Control) -> None:
    elsewhere = authorize(server, redirect_uri="https://evil.example/slack/oauth_redirect")
    assert elsewhere.status_code == 400 and elsewhere.json()["error"] == "bad_redirect_uri"
    deeper = REDIRECT + "/more?x=1"
    location, query = code_from(authorize(server, redirect_uri=deeper))
    assert location.startswith(deeper + "&code=")
    code = query["code"][0]
    assert error_of(lambda: exchange(server, code)) == "bad_redirect_uri"
    assert exchange(server, code, redirect_uri=deeper)["ok"]
    for bad, error in (
        ({"client_id": "nope"}, "invalid_client_id"),
        ({"scope": ""}, "invalid_scope"),
        ({"team": "T9999"}, "team_not_found"),
        ({"user": "U9999"}, "user_not_found"),
    ):
        refused = authorize(server, **bad)
        assert refused.status_code == 400 and refused.json()["error"] == error
    _, denied = code_from(authorize(server, decision="deny"))
    assert denied == {"error": ["access_denied"], "state": ["s1"]}
    control.post("/_emulator/config", {"redirect_urls": []})
    assert authorize(server).json()["error"] == "bad_redirect_uri"


def test_uninstall_revokes_the_token_and_tells_the_app(server: Child, control: Control) -> None:
    result = control.post("/_emulator/uninstall", {"team": "T0001"})
    assert result["ok"] and len(result["event_ids"]) == 2
    bot = api(server, BOT_TOKEN)
    assert error_of(bot.auth_test) == "token_revoked"
    [refused] = control.calls(method="auth.test")
    assert refused["team"] == "T0001" and refused["error"] == "token_revoked"
    sent = control.get("/_emulator/acks", type="events_api")["acks"]
    first = [a["event_type"] for a in sent if a["attempt"] == 0]
    assert first == ["tokens_revoked", "app_uninstalled"]
    # What people post there now produces no events for the app.
    posted = control.post("/_emulator/messages", {"channel": "C0001", "user": "U0001", "text": "x"})
    assert posted["event_ids"] == []
    again = control.http.post("/_emulator/uninstall", json={"team": "T0001"})
    assert again.status_code == 409

    # Reinstalling gives a new token; the revoked one stays revoked.
    _, query = code_from(authorize(server))
    answer = exchange(server, query["code"][0])
    assert answer["access_token"] not in (BOT_TOKEN, "")
    assert api(server, answer["access_token"]).auth_test()["team_id"] == "T0001"
    assert error_of(bot.auth_test) == "token_revoked"
