"""Messages and mentions: replies in a worker's thread continue it; mentions and DMs start one.

Slack delivers a message that mentions the app twice (`message` and `app_mention`) and retries
events it thinks were not acknowledged, so every event is claimed first, by its `event_id` and
by `channel:ts`; only the first claim acts.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from ..commands import parse_mention
from ..replies import render_help
from .deps import deps_of

log = logging.getLogger(__name__)

HUMAN_SUBTYPES = {"file_share", "thread_broadcast"}
"""Message subtypes that are still a person writing; every other subtype is ignored."""


def is_human_message(event: dict[str, Any]) -> bool:
    subtype = event.get("subtype")
    if subtype is not None and subtype not in HUMAN_SUBTYPES:
        return False
    return not event.get("bot_id") and bool(event.get("user"))


async def claim(context: AsyncBoltContext, body: dict[str, Any], event: dict[str, Any]) -> bool:
    keys = [f"msg:{event['channel']}:{event['ts']}"]
    if body.get("event_id"):
        keys.append(f"event:{body['event_id']}")
    return await deps_of(context).service.claim_event(*keys)


async def in_worker_thread(context: AsyncBoltContext, event: dict[str, Any]) -> str | None:
    """The thread of a reply in a worker's thread, else None."""
    thread_ts = event.get("thread_ts")
    if not thread_ts or thread_ts == event["ts"]:
        return None
    known = await deps_of(context).service.is_worker_thread(
        context.team_id or "", event["channel"], str(thread_ts)
    )
    return str(thread_ts) if known else None


async def continue_thread(context: AsyncBoltContext, event: dict[str, Any], thread: str) -> None:
    text = parse_mention(str(event.get("text", "")), context.bot_user_id or "")
    if not text:
        return
    await deps_of(context).service.follow_up(
        team_id=context.team_id or "",
        channel_id=event["channel"],
        thread_ts=thread,
        user_id=event["user"],
        text=text,
        trigger_ts=event["ts"],
    )


async def start_threaded(
    context: AsyncBoltContext, client: AsyncWebClient, event: dict[str, Any], thread_ts: str
) -> None:
    deps = deps_of(context)
    instruction = parse_mention(str(event.get("text", "")), context.bot_user_id or "")
    if not instruction:
        message = render_help("/handinger", deps.settings.handinger_max_budget)
        await client.chat_postMessage(
            channel=event["channel"], thread_ts=thread_ts, text=message.text, blocks=message.blocks
        )
        return
    await deps.service.start(
        team_id=context.team_id or "",
        channel_id=event["channel"],
        user_id=event["user"],
        instruction=instruction,
        trigger_ts=event["ts"],
        thread_ts=thread_ts,
    )


async def on_message(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if not is_human_message(event):
        return
    in_thread = bool(event.get("thread_ts")) and event.get("thread_ts") != event["ts"]
    thread = await in_worker_thread(context, event)
    if thread is not None and await claim(context, body, event):
        await continue_thread(context, event, thread)
    elif not in_thread and event.get("channel_type") == "im" and await claim(context, body, event):
        await start_threaded(context, client, event, event["ts"])


async def on_mention(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if not is_human_message(event):
        return
    thread = await in_worker_thread(context, event)
    if thread is not None:
        if await claim(context, body, event):
            await continue_thread(context, event, thread)
        return
    if await claim(context, body, event):
        thread_ts = event.get("thread_ts")
        root = str(thread_ts) if thread_ts and thread_ts != event["ts"] else event["ts"]
        await start_threaded(context, client, event, root)
