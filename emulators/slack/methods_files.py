"""File uploads v2 (`files.getUploadURLExternal` → POST bytes → `files.completeUploadExternal`)
and serving the stored bytes back through the control API (`url_private`: `user_files`).

The upload URL refuses (HTTP 400, nothing stored) bytes whose count differs from the `length`
declared to files.getUploadURLExternal; Slack says only that "a non-200 response indicates a
failure". files.completeUploadExternal "can only be called once": completing a file that was
never uploaded, or that was already completed, answers `file_not_found` ("Could not find the
file from the upload ticket"), as Slack documents no other code for either."""

from __future__ import annotations

import mimetypes
import secrets
from typing import Any

from aiohttp import web

from .calls import Call, Handler
from .emulator import EMULATOR, Emulator
from .errors import ApiError
from .faults import faulted
from .methods_chat import resolve_thread
from .render import api_file
from .state import JSON, Channel, FileObject, Message
from .validate import json_arg, parse_blocks

MAX_FILE_SIZE = 1024**3  # what slack_sdk enforces client-side; Slack's own cap is unverified
UPLOAD_KEYS = "upload_keys"


def filetype_of(name: str) -> tuple[str, str]:
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
    return mimetype, {"txt": "text", "md": "markdown"}.get(extension, extension)


def get_upload_url(call: Call) -> JSON:
    name = call.text("filename")
    try:
        length = int(call.text("length") or 0)
    except ValueError as exc:
        raise ApiError("invalid_arguments") from exc
    if not name or length <= 0:
        raise ApiError("missing_argument")
    if length > MAX_FILE_SIZE:
        raise ApiError("file_upload_size_restricted")
    mimetype, filetype = filetype_of(name)
    file = FileObject(
        id=call.world.new_id("F", 8),
        team=call.workspace.id,
        user=call.bot_user,
        name=name,
        title=name,
        mimetype=mimetype,
        filetype=filetype,
        length=length,
        created=int(call.emu.clock.wall()),
        alt_txt=call.text("alt_txt") or call.text("alt_text"),
    )
    call.world.files[file.id] = file
    key = secrets.token_urlsafe(12)
    call.emu.uploads[key] = file.id
    return {"upload_url": f"{call.emu.base_url}/upload/v1/{key}", "file_id": file.id}


def _channels(call: Call) -> list[Channel]:
    ids = [c for c in (call.text("channels") or "").split(",") if c]
    if call.text("channel_id"):
        ids.insert(0, call.text("channel_id") or "")
    if len(ids) > 100:
        raise ApiError("channels_limit_exceeded")
    if call.text("thread_ts") and len(ids) > 1:
        raise ApiError("invalid_arguments")
    return [call.channel_by_id(ident) for ident in ids]


def complete_upload(call: Call) -> JSON:
    raw: Any = json_arg(call.params.get("files"), "files")
    if not isinstance(raw, list) or not raw:
        raise ApiError("invalid_arguments")
    files: list[FileObject] = []
    for item in raw:
        file = call.world.files.get(str(item.get("id"))) if isinstance(item, dict) else None
        if file is None or file.team != call.workspace.id or file.content is None:
            raise ApiError("file_not_found")
        if file.completed:
            raise ApiError("file_not_found")
        if item.get("title"):
            file.title = str(item["title"])
        files.append(file)
    channels = _channels(call)
    comment = call.text("initial_comment")
    blocks = None if comment else parse_blocks(call.params.get("blocks"))
    for channel in channels:
        message = Message(
            ts=call.world.new_ts(),
            channel=channel.id,
            team=channel.team,
            user=call.bot_user,
            text=comment or "",
            blocks=blocks,
            bot_id=call.workspace.bot_id,
            thread_ts=resolve_thread(channel, call.text("thread_ts")),
            files=[f.id for f in files],
        )
        for file in files:
            file.channels.append(channel.id)
        call.world.add_message(message, call.method)
        call.emu.posted(message, subtype="file_share")
    for file in files:
        file.completed = True
    return {"files": [api_file(call.world, f) for f in files]}


async def upload(request: web.Request) -> web.StreamResponse:
    """The `upload_url`: raw bytes or a multipart form, no auth (like files.slack.com). Faults
    name it `upload`."""
    emu: Emulator = request.app[EMULATOR]
    file_id = emu.uploads.get(request.match_info["key"])
    file = emu.world.files.get(file_id or "")
    if file is None:
        return web.Response(status=404, text="not found")
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        part = next(iter(form.values()), None)
        data = part.file.read() if isinstance(part, web.FileField) else str(part or "").encode()
    else:
        data = await request.read()

    async def store() -> web.StreamResponse:
        if len(data) > MAX_FILE_SIZE:
            return web.Response(status=413, text="too large")
        if len(data) != file.length:
            return web.Response(
                status=400, text=f"length mismatch: {len(data)} bytes sent, {file.length} declared"
            )
        file.content = data
        return web.Response(text=f"OK - {len(data)}")

    args = {"file_id": file.id, "filename": file.name}
    return await faulted(emu.faults, request, "upload", file.team, args, store, emu.clock.wall())


async def download_control(request: web.Request) -> web.Response:
    """`GET /_emulator/files/{id}`: the bytes without auth, for tests."""
    emu: Emulator = request.app[EMULATOR]
    file = emu.world.files.get(request.match_info["file_id"])
    if file is None or file.content is None:
        return web.json_response({"ok": False, "error": "file_not_found"}, status=404)
    return web.Response(body=file.content, content_type=file.mimetype)


METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
