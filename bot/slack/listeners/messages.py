"""Messages and mentions: replies in a worker's thread continue it; mentions and DMs start one.

Slack delivers a message that mentions the app twice (`message` and `app_mention`) and retries
events it thinks were not acknowledged, so every event is claimed in the store first, by its
`event_id` and by `channel:ts`; only the first claim acts.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from ...config import Settings
from ...core.runner import Runner
from ..commands import parse_mention
from ..render import render_help

log = logging.getLogger(__name__)

HUMAN_SUBTYPES = {"file_share", "thread_broadcast"}
"""Message subtypes that are still a person writing; every other subtype is ignored."""


def is_human_message(event: dict[str, Any]) -> bool:
    subtype = event.get("subtype")
    if subtype is not None and subtype not in HUMAN_SUBTYPES:
        return False
    return not event.get("bot_id") and bool(event.get("user"))


def register(app: AsyncApp, runner: Runner, settings: Settings) -> None:
    def claim(body: dict[str, Any], event: dict[str, Any]) -> bool:
        keys = [f"msg:{event['channel']}:{event['ts']}"]
        if body.get("event_id"):
            keys.append(f"event:{body['event_id']}")
        return runner.store.claim_event(*keys)

    async def continue_thread(
        team_id: str, event: dict[str, Any], thread_ts: str, bot_user_id: str | None
    ) -> None:
        text = parse_mention(str(event.get("text", "")), bot_user_id or "")
        if not text:
            return
        await runner.follow_up(
            team_id=team_id,
            channel_id=event["channel"],
            thread_ts=thread_ts,
            user_id=event["user"],
            text=text,
            trigger_ts=event["ts"],
        )

    async def start_threaded(
        client: AsyncWebClient,
        team_id: str,
        event: dict[str, Any],
        thread_ts: str,
        bot_user_id: str | None,
    ) -> None:
        instruction = parse_mention(str(event.get("text", "")), bot_user_id or "")
        if not instruction:
            message = render_help("/handinger", settings.handinger_max_budget)
            await client.chat_postMessage(
                channel=event["channel"],
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks,
            )
            return
        runner.start_new(
            team_id=team_id,
            channel_id=event["channel"],
            user_id=event["user"],
            instruction=instruction,
            trigger_ts=event["ts"],
            thread_ts=thread_ts,
        )

    @app.event("message")
    async def on_message(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        if not is_human_message(event):
            return
        team_id = context.team_id or str(body.get("team_id", ""))
        thread_ts = event.get("thread_ts")
        if thread_ts and thread_ts != event["ts"]:
            if runner.is_worker_thread(team_id, event["channel"], thread_ts) and claim(body, event):
                await continue_thread(team_id, event, thread_ts, context.bot_user_id)
            return
        if event.get("channel_type") == "im" and claim(body, event):
            await start_threaded(client, team_id, event, event["ts"], context.bot_user_id)

    @app.event("app_mention")
    async def on_mention(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        if not is_human_message(event):
            return
        team_id = context.team_id or str(body.get("team_id", ""))
        thread_ts = event.get("thread_ts")
        in_thread = bool(thread_ts) and thread_ts != event["ts"]
        if in_thread and runner.is_worker_thread(team_id, event["channel"], str(thread_ts)):
            if claim(body, event):
                await continue_thread(team_id, event, str(thread_ts), context.bot_user_id)
            return
        if claim(body, event):
            root = str(thread_ts) if in_thread else event["ts"]
            await start_threaded(client, team_id, event, root, context.bot_user_id)
