"""JSON shapes: messages, users, channels and files as the Web API returns them, and the
richer shapes the `/_emulator/` control API returns (with replies, edits and file bytes)."""

from __future__ import annotations

from urllib.parse import quote

from .state import APP_ID, JSON, Channel, FileObject, Message, User, Workspace, World


def bot_profile(workspace: Workspace) -> JSON:
    return {
        "id": workspace.bot_id,
        "app_id": APP_ID,
        "name": "Handinger",
        "icons": {},
        "deleted": False,
        "team_id": workspace.id,
    }


def api_message(world: World, message: Message) -> JSON:
    """A message as `conversations.replies` and `chat.postMessage` return it."""
    out: JSON = {"type": "message", "user": message.user, "text": message.text, "ts": message.ts}
    if message.subtype:
        out["subtype"] = message.subtype
    out["team"] = message.team
    if message.bot_id:
        workspace = world.workspaces[message.team]
        out["bot_id"] = message.bot_id
        out["app_id"] = APP_ID
        out["bot_profile"] = bot_profile(workspace)
    if message.client_msg_id:
        out["client_msg_id"] = message.client_msg_id
    if message.blocks is not None:
        out["blocks"] = message.blocks
    if message.attachments:
        out["attachments"] = message.attachments
    if message.metadata:
        out["metadata"] = message.metadata
    if message.username:
        out["username"] = message.username
    if message.icon:
        out["icons"] = message.icon
    if message.files:
        out["files"] = [api_file(world, world.files[f]) for f in message.files if f in world.files]
        out["upload"] = False
    if message.edited:
        out["edited"] = message.edited
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
        if message.is_reply:
            root = world.channels[message.channel].messages.get(message.thread_ts)
            if root is not None:
                out["parent_user_id"] = root.user
        else:
            live = [r for r in message.replies if _live(world, message.channel, r)]
            out["reply_count"] = len(live)
            out["reply_users"] = sorted(
                {world.channels[message.channel].messages[r].user for r in live}
            )
            out["reply_users_count"] = len(out["reply_users"])
            out["latest_reply"] = live[-1] if live else message.ts
    if message.reactions:
        out["reactions"] = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in message.reactions.items()
        ]
    return out


def _live(world: World, channel: str, ts: str) -> bool:
    found = world.channels[channel].messages.get(ts)
    return found is not None and not found.deleted


def api_user(user: User) -> JSON:
    return {
        "id": user.id,
        "team_id": user.team,
        "name": user.name,
        "real_name": user.real_name,
        "deleted": False,
        "is_admin": user.is_admin,
        "is_owner": user.is_admin,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "tz": "Europe/Madrid",
        "tz_offset": 3600,
        "profile": {
            "real_name": user.real_name,
            "display_name": user.name,
            "team": user.team,
            **({"bot_id": user.bot_id} if user.bot_id else {}),
        },
    }


def api_channel(channel: Channel, bot_user: str) -> JSON:
    out: JSON = {
        "id": channel.id,
        "created": channel.created,
        "creator": channel.creator,
        "is_channel": channel.kind == "public" or channel.kind == "private",
        "is_group": False,
        "is_im": channel.kind == "im",
        "is_mpim": channel.kind == "mpim",
        "is_private": channel.is_private,
        "is_archived": channel.archived,
        "is_general": channel.name == "general",
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_member": bot_user in channel.members,
        "context_team_id": channel.team,
    }
    if channel.kind == "im":
        out["user"] = next((m for m in channel.members if m != bot_user), bot_user)
    else:
        out["name"] = channel.name
        out["name_normalized"] = channel.name
        out["num_members"] = len(channel.members)
        out["topic"] = {"value": "", "creator": "", "last_set": 0}
        out["purpose"] = {"value": "", "creator": "", "last_set": 0}
    return out


def api_file(world: World, file: FileObject) -> JSON:
    base = world.base_url
    name = quote(file.name, safe="")  # a URL path segment, whatever the name holds
    return {
        "id": file.id,
        "created": file.created,
        "timestamp": file.created,
        "name": file.name,
        "title": file.title,
        "mimetype": file.mimetype,
        "filetype": file.filetype,
        "pretty_type": file.filetype.upper(),
        "user": file.user,
        "user_team": file.team,
        "size": len(file.content) if file.content is not None else file.length,
        "mode": "hosted",
        "is_external": False,
        "is_public": any(
            world.channels[c].kind == "public" for c in file.channels if c in world.channels
        ),
        "url_private": file.url_private or f"{base}/files-pri/{file.team}-{file.id}/{name}",
        "url_private_download": file.url_private
        or f"{base}/files-pri/{file.team}-{file.id}/download/{name}",
        "permalink": f"https://{world.workspaces[file.team].domain}.slack.com/files/"
        f"{file.user}/{file.id}/{name}",
        "channels": [c for c in file.channels if world.channels.get(c, None) is not None],
        **({"alt_txt": file.alt_txt} if file.alt_txt else {}),
    }


def control_message(world: World, message: Message) -> JSON:
    """A message for `GET /_emulator/channels/{channel}/messages`: everything a test checks."""
    channel = world.channels[message.channel]
    out: JSON = {
        "ts": message.ts,
        "user": message.user,
        "bot_id": message.bot_id,
        "author": message.bot_id or message.user,
        "text": message.text,
        "blocks": message.blocks,
        "attachments": message.attachments,
        "thread_ts": message.thread_ts,
        "subtype": message.subtype,
        "metadata": message.metadata,
        "deleted": message.deleted,
        "edited": message.edited,
        "files": [control_file(world, world.files[f]) for f in message.files if f in world.files],
        "reactions": [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in message.reactions.items()
        ],
        "edits": [
            {
                "time": v.time,
                "ts": v.ts,
                "text": v.text,
                "blocks": v.blocks,
                "source": v.source,
            }
            for v in message.versions
        ],
    }
    if message.stream_state is not None:
        out["stream"] = {"state": message.stream_state, "chunks": message.chunks}
    if not message.is_reply:
        out["assistant_status"] = message.assistant_status
        out["reply_count"] = len(message.replies)
        out["replies"] = [
            control_message(world, channel.messages[r])
            for r in message.replies
            if r in channel.messages
        ]
    return out


def control_file(world: World, file: FileObject) -> JSON:
    base = world.base_url
    return {
        "id": file.id,
        "name": file.name,
        "title": file.title,
        "mimetype": file.mimetype,
        "filetype": file.filetype,
        "size": len(file.content) if file.content is not None else 0,
        "alt_txt": file.alt_txt,
        "url_private": api_file(world, file)["url_private"],
        "download_url": f"{base}/_emulator/files/{file.id}",
    }
