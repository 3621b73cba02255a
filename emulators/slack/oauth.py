"""Installing the app with OAuth v2, and uninstalling it (reference §10).

- `GET /oauth/v2/authorize?client_id&scope&user_scope&state&redirect_uri&team` is where an
  "Add to Slack" link points. Slack shows a consent screen there; the emulator skips it: the
  user approves at once and the browser is sent (302) to the redirect URL with `code` and
  `state`. Emulator extras: `team` picks the workspace (default T0001, as Slack's own `team`
  parameter does), `user` picks who approves (default the workspace's first admin), and
  `decision=deny` redirects with `error=access_denied` instead.
  The redirect URL is the `redirect_uri` parameter, which must lie under one of the app's
  Redirect URLs (`--redirect-url`, or `redirect_urls` in `/_emulator/config`), or else the first
  of those. Errors are 400 JSON `{"ok": false, "error"}`: `invalid_client_id`,
  `bad_redirect_uri`, `invalid_scope` (nothing requested), `team_not_found`,
  `user_not_found`.
- `oauth.v2.access` (Web API, no token) exchanges the code, once, within 10 minutes. The client
  authenticates with HTTP Basic (`client_id:client_secret`, what slack_sdk sends) or with the
  `client_id`/`client_secret` parameters. Errors: `invalid_client_id`, `bad_client_secret`,
  `invalid_code` (unknown, used or expired), `bad_redirect_uri` (differs from the one sent to
  authorize), `invalid_grant_type` (only `authorization_code`: token rotation is off).
  Success installs the app in the workspace: its bot token works (a new one if the old one was
  revoked) and the granted scopes add up. The answer has the fields Bolt reads: `app_id`,
  `authed_user`, `scope`, `token_type: bot`, `access_token`, `bot_user_id`, `team`,
  `enterprise: null`, `is_enterprise_install: false`.
- `POST /_emulator/uninstall {team, wait?, timeout?}` removes the app as an admin would: the bot
  token is revoked (calls with it get `token_revoked`), nothing more is delivered from that
  workspace (slash commands and clicks answer 409 `app_not_installed`), and the app receives
  `tokens_revoked` (`tokens.bot` = the bot user) and then `app_uninstalled`, both without
  `authorizations`. Returns `{ok, event_ids[, acked]}`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from .control_common import route
from .emulator import EMULATOR, Emulator
from .errors import ApiError
from .seed import DEFAULT_TEAM
from .state import APP_ID, JSON, Grant, Workspace

CODE_LIFETIME = 600.0
"""Real seconds an authorization code stays valid (Slack: ten minutes)."""
AUTHORIZE_PATH = "/oauth/v2/authorize"


def _split(value: str | None) -> list[str]:
    return [s.strip() for s in (value or "").split(",") if s.strip()]


def _under(url: str, registered: str) -> bool:
    """Slack accepts a `redirect_uri` on a registered URL's host, at or below its path."""
    given, known = urlsplit(url), urlsplit(registered)
    if (given.scheme, given.netloc) != (known.scheme, known.netloc):
        return False
    base = known.path.rstrip("/")
    return given.path == base or given.path.startswith(base + "/") or not base


def _refuse(error: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


def redirect_target(emu: Emulator, redirect_uri: str | None) -> str:
    registered = emu.settings.redirect_urls
    if redirect_uri:
        if not any(_under(redirect_uri, url) for url in registered):
            raise ApiError("bad_redirect_uri")
        return redirect_uri
    if not registered:
        raise ApiError("bad_redirect_uri")
    return registered[0]


def _approver(emu: Emulator, workspace: Workspace, user_id: str | None) -> str:
    members = [u for u in emu.world.users.values() if u.team == workspace.id and not u.is_bot]
    if user_id:
        if not any(u.id == user_id for u in members):
            raise ApiError("user_not_found")
        return user_id
    admins = [u.id for u in members if u.is_admin]
    if not admins and not members:
        raise ApiError("user_not_found")
    return (admins or [u.id for u in members])[0]


async def authorize(request: web.Request) -> web.StreamResponse:
    """The consent screen, approved (or denied) at once; redirects to the app."""
    emu = request.app[EMULATOR]
    query = request.query
    if query.get("client_id") != emu.settings.client_id:
        return _refuse("invalid_client_id")
    try:
        target = redirect_target(emu, query.get("redirect_uri"))
        scopes, user_scopes = _split(query.get("scope")), _split(query.get("user_scope"))
        if not scopes and not user_scopes:
            raise ApiError("invalid_scope")
        workspace = emu.world.workspaces.get(query.get("team") or DEFAULT_TEAM)
        if workspace is None:
            raise ApiError("team_not_found")
        user = _approver(emu, workspace, query.get("user"))
    except ApiError as error:
        return _refuse(error.error)
    answer: dict[str, str] = {}
    if query.get("decision") == "deny":
        answer["error"] = "access_denied"
    else:
        code = f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**13)}.{secrets.token_hex(32)}"
        emu.world.grants[code] = Grant(
            code=code,
            team=workspace.id,
            user=user,
            scopes=scopes,
            user_scopes=user_scopes,
            redirect_uri=query.get("redirect_uri") or None,
            created=emu.clock.wall(),
        )
        answer["code"] = code
    if "state" in query:
        answer["state"] = query["state"]
    separator = "&" if urlsplit(target).query else "?"
    raise web.HTTPFound(target + separator + urlencode(answer))


def _client_credentials(authorization: str, params: dict[str, Any]) -> tuple[str, str]:
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError("invalid_client_id") from exc
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return str(params.get("client_id") or ""), str(params.get("client_secret") or "")


def access(emu: Emulator, authorization: str, params: dict[str, Any], entry: JSON) -> JSON:
    """`oauth.v2.access`: exchange a code for the bot token, installing the app."""
    client_id, client_secret = _client_credentials(authorization, params)
    if client_id != emu.settings.client_id:
        raise ApiError("invalid_client_id")
    if client_secret != emu.settings.client_secret:
        raise ApiError("bad_client_secret")
    if params.get("grant_type", "authorization_code") != "authorization_code":
        raise ApiError("invalid_grant_type")
    grant = emu.world.grants.get(str(params.get("code") or ""))
    if grant is None or grant.used or emu.clock.wall() - grant.created > CODE_LIFETIME:
        raise ApiError("invalid_code")
    if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
        raise ApiError("bad_redirect_uri")
    grant.used = True
    workspace = emu.world.workspaces[grant.team]
    entry["team"] = workspace.id
    emu.world.install(workspace, grant.scopes)
    return {
        "ok": True,
        "app_id": APP_ID,
        "authed_user": {"id": grant.user},
        "scope": ",".join(workspace.bot_scopes),
        "token_type": "bot",
        "access_token": workspace.bot_token,
        "bot_user_id": workspace.bot_user_id,
        "team": {"id": workspace.id, "name": workspace.name},
        "enterprise": None,
        "is_enterprise_install": False,
    }


@route
async def uninstall(emu: Emulator, request: web.Request, body: JSON) -> JSON:
    team = body.get("team") or DEFAULT_TEAM
    workspace = emu.world.workspaces.get(str(team))
    if workspace is None:
        raise ApiError("team_not_found", status=404)
    if not workspace.installed:
        raise ApiError("app_not_installed", status=409)
    emu.world.uninstall(workspace)
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [workspace.bot_user_id]}}
    event_ids = [
        emu.delivery.emit(workspace, event, authorized=False)
        for event in (revoked, {"type": "app_uninstalled"})
        if emu.subscribed(workspace, event)
    ]
    out: JSON = {"ok": True, "event_ids": event_ids}
    if body.get("wait"):
        out["acked"] = await emu.delivery.wait(event_ids, float(body.get("timeout", 10)))
    return out


def add_routes(app: web.Application) -> None:
    app.router.add_get(AUTHORIZE_PATH, authorize)
    app.router.add_post("/_emulator/uninstall", uninstall)
