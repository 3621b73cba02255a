"""Files people share: attached to a message typed through the control API (a `file_share`
message with `files`), described by `files.info`, and read back from `url_private`.

Slack serves `url_private` only with a token of the file's workspace that has `files:read`
(https://api.slack.com/types/file#auth); without it the download is refused. Every download
is logged as a call of the pseudo-method `url_private`, so tests can see what was fetched and
whether it carried a token.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from .calls import Call, Handler
from .emulator import EMULATOR, Emulator
from .errors import ApiError
from .methods_files import filetype_of
from .render import api_file
from .state import JSON, Channel, FileObject, User

DOWNLOAD = "url_private"
"""The name downloads are logged under in `/_emulator/calls`."""


def _content(spec: JSON) -> bytes:
    if "base64" in spec:
        try:
            return base64.b64decode(str(spec["base64"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError("invalid_base64", status=400) from exc
    if "text" in spec:
        return str(spec["text"]).encode("utf-8")
    raise ApiError("invalid_arguments", status=400, missing="files[].text or files[].base64")


def share_files(emu: Emulator, channel: Channel, user: User, specs: Any) -> list[str]:
    """Store the files a person attaches to a message; returns their ids, in order.

    Each spec is `{name, text | base64, mimetype?, title?, url_private?}`; `url_private` makes
    the file claim to live on another host (as a forged or foreign file would)."""
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise ApiError("invalid_files", status=400)
    if len(specs) > 10:  # Slack attaches at most 10 files to one message
        raise ApiError("too_many_files", status=400)
    ids: list[str] = []
    for spec in specs:
        name = str(spec.get("name") or "")
        if not name:
            raise ApiError("invalid_arguments", status=400, missing="files[].name")
        content = _content(spec)
        mimetype, filetype = filetype_of(name)
        file = FileObject(
            id=emu.world.new_id("F", 8),
            team=channel.team,
            user=user.id,
            name=name,
            title=str(spec.get("title") or name),
            mimetype=str(spec.get("mimetype") or mimetype),
            filetype=filetype,
            length=len(content),
            created=int(emu.clock.wall()),
            content=content,
            channels=[channel.id],
            completed=True,
            url_private=str(spec["url_private"]) if spec.get("url_private") else None,
        )
        emu.world.files[file.id] = file
        ids.append(file.id)
    return ids


def files_info(call: Call) -> JSON:
    """`files.info`: a file the bot can see (shared where it is a member)."""
    file = call.world.files.get(call.text("file") or "")
    if file is None or file.team != call.workspace.id or not file.completed:
        raise ApiError("file_not_found")
    visible = any(
        call.bot_user in call.world.channels[c].members
        for c in file.channels
        if c in call.world.channels
    )
    if not visible:
        raise ApiError("file_not_found")
    return {"file": api_file(call.world, file), "comments": [], "response_metadata": {}}


def _log(emu: Emulator, file: FileObject | None, ref: str, authed: bool, status: int) -> None:
    emu.records.add_call(
        {
            "time": emu.clock.wall(),
            "method": DOWNLOAD,
            "http_verb": "GET",
            "team": file.team if file is not None else None,
            "args": {"file": file.id if file is not None else ref, "authorized": authed},
            "ok": status == 200,
            "error": None if status == 200 else str(status),
            "status": status,
        }
    )


async def download_private(request: web.Request) -> web.Response:
    """`url_private`: needs `Authorization: Bearer <bot token>` of the file's workspace, with
    `files:read` granted."""
    emu: Emulator = request.app[EMULATOR]
    ref = request.match_info["ref"]
    team, _, file_id = ref.partition("-")
    file = emu.world.files.get(file_id)
    header = request.headers.get("Authorization", "")
    workspace = emu.world.workspace_for_token(header.removeprefix("Bearer ").strip())
    if file is None or file.team != team or file.content is None:
        _log(emu, None, ref, workspace is not None, 404)
        return web.Response(status=404, text="file_not_found")
    if workspace is None or workspace.id != team:
        _log(emu, file, ref, False, 403)
        return web.json_response({"ok": False, "error": "not_authed"}, status=403)
    if "files:read" not in workspace.bot_scopes:
        _log(emu, file, ref, True, 403)
        return web.json_response(
            {"ok": False, "error": "missing_scope", "needed": "files:read"}, status=403
        )
    _log(emu, file, ref, True, 200)
    return web.Response(body=file.content, content_type=file.mimetype)


METHODS: dict[str, Handler] = {"files.info": files_info}
