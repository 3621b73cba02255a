"""The "Ask Handinger" message shortcut: a small modal (instruction, budget), then a worker in
that message's thread with the message (and its thread, if any) as context.

The shortcut's `response_url` rides in the modal's metadata, so the person can be told
privately when the app cannot read the conversation (it is not a member).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...budgets import as_budget
from ...core.answers import OverBudget, Started
from ..ask_view import INSTRUCTION_BLOCK, ask_modal, ask_values
from ..clients import webhook_client
from ..context_wording import SHORTCUT_EMPTY, SHORTCUT_NO_ACCESS
from ..gather import Wanted, gather
from ..wording import over_budget_text
from .deps import deps_of
from .messages import tell_gaps

log = logging.getLogger(__name__)

LATEST = "9999999999.999999"
"""A `before_ts` later than any message: the whole thread is context."""


async def on_ask_shortcut(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    await ack()
    settings = deps_of(context).settings
    message = body.get("message") or {}
    meta = {
        "channel": str((body.get("channel") or {}).get("id", "")),
        "ts": str(body.get("message_ts") or message.get("ts") or ""),
        "thread": str(message.get("thread_ts") or ""),
        "response_url": str(body.get("response_url") or ""),
    }
    view = ask_modal(meta, settings.handinger_default_budget, settings.handinger_max_budget)
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
    except SlackApiError as error:
        log.info("cannot open the Ask Handinger modal: %s", error.response.get("error"))


async def on_ask_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    instruction, budget = ask_values(view)
    if not instruction:
        await ack(response_action="errors", errors={INSTRUCTION_BLOCK: SHORTCUT_EMPTY})
        return
    await ack()
    deps, user = deps_of(context), str(body["user"]["id"])
    meta = json.loads(view.get("private_metadata") or "{}")
    channel, ts = str(meta.get("channel", "")), str(meta.get("ts", ""))
    root = str(meta.get("thread") or ts)
    wanted = Wanted(channel, LATEST, thread_ts=root)
    gathered = await gather(client, deps.settings, wanted, context.bot_id)
    if gathered.history_gap == "no_access":
        await _tell(str(meta.get("response_url") or ""), SHORTCUT_NO_ACCESS)
        return
    service, team = deps.service, context.team_id or ""
    if await service.is_worker_thread(team, channel, root):
        await service.follow_up(
            team_id=team,
            channel_id=channel,
            thread_ts=root,
            user_id=user,
            text=instruction,
            trigger_ts=ts,
            context=gathered,
        )
        await tell_gaps(client, channel, root, gathered)
        return
    started = await service.start(
        team_id=team,
        channel_id=channel,
        user_id=user,
        instruction=instruction,
        budget=as_budget(budget) if budget else None,
        thread_ts=root,
        trigger_ts=ts,
        context=gathered,
    )
    if isinstance(started, OverBudget):
        await _tell(str(meta.get("response_url") or ""), over_budget_text(started))
    elif isinstance(started, Started):
        await tell_gaps(client, channel, root, gathered)


async def _tell(response_url: str, text: str) -> None:
    """Privately, through the shortcut's `response_url` (works without channel membership)."""
    if not response_url:
        return
    try:
        await webhook_client(response_url).send(text=text, response_type="ephemeral")
    except Exception as error:  # the person is only not told; nothing else depends on it
        log.info("cannot answer the shortcut privately: %s", error)
