"""Messages and mentions: replies in a worker's thread continue it (all of them, or in reply
mode `mention` only those that mention the app); mentions and DMs start one, with the thread's
earlier messages and the attached files' text as context (`slack/gather.py`).

Slack delivers a message that mentions the app twice (`message` and `app_mention`) and retries
events it thinks were not acknowledged, so every event is claimed first, by its `event_id` and
by `channel:ts`; only the first claim acts.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...core.answers import OverBudget, Started, ThreadReplies
from ...core.gathered import Gathered
from ..blocks import SlackMessage
from ..commands import CommandError, Help, parse_mention, parse_mention_run
from ..context_wording import attached_only, context_notice
from ..gather import Wanted, gather
from ..replies import render_help, render_notice
from ..run_refs import notice_metadata
from ..wording import over_budget_text
from .agent import set_title
from .deps import deps_of

log = logging.getLogger(__name__)

HUMAN_SUBTYPES = {"file_share", "thread_broadcast"}
"""Message subtypes that are still a person writing; every other subtype is ignored."""


def is_human_message(event: dict[str, Any]) -> bool:
    subtype = event.get("subtype")
    if subtype is not None and subtype not in HUMAN_SUBTYPES:
        return False
    return not event.get("bot_id") and bool(event.get("user"))


def mentions_app(event: dict[str, Any], bot_user_id: str | None) -> bool:
    if not bot_user_id:
        return False
    return (
        re.search(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", event.get("text") or "") is not None
    )


def files_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in event.get("files") or [] if isinstance(f, dict)]


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


async def tell_gaps(
    client: AsyncWebClient, channel: str, thread_ts: str, gathered: Gathered | None
) -> None:
    """One short line in the thread about what did not reach the agent; the run goes on."""
    text = context_notice(gathered) if gathered is not None else None
    if text is None:
        return
    try:
        await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, metadata=notice_metadata("context")
        )
    except SlackApiError as error:
        log.info("cannot say what did not reach the agent: %s", error.response.get("error"))


async def continue_thread(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    event: dict[str, Any],
    thread: str,
    replies: ThreadReplies | None = None,
) -> None:
    """A reply the worker answers; in reply mode `mention`, the replies it did not answer
    since its last turn come along as context."""
    deps = deps_of(context)
    text = parse_mention(str(event.get("text", "")), context.bot_user_id or "")
    files = files_of(event)
    if not text and not files:
        return
    team = context.team_id or ""
    replies = replies or await deps.service.thread_replies(team, event["channel"], thread)
    since = replies.since_ts if replies.mode == "mention" else None
    wanted = Wanted(
        event["channel"],
        event["ts"],
        thread_ts=thread if since else None,
        since_ts=since,
        files=files,
    )
    gathered = await gather(client, deps.settings, wanted, context.bot_id)
    await deps.service.follow_up(
        team_id=team,
        channel_id=event["channel"],
        thread_ts=thread,
        user_id=event["user"],
        text=text or attached_only(files),
        trigger_ts=event["ts"],
        context=gathered,
    )
    await tell_gaps(client, event["channel"], thread, gathered)


async def start_threaded(
    context: AsyncBoltContext, client: AsyncWebClient, event: dict[str, Any], thread_ts: str
) -> None:
    """A new worker threaded under `thread_ts`; inside an existing thread, its earlier
    messages come along as context. Its options (`--budget`, `--help`) read as the command's;
    a mistake in them, or a budget over the cap, is said privately and starts nothing."""
    deps = deps_of(context)
    files = files_of(event)
    parsed = parse_mention_run(
        str(event.get("text", "")), context.bot_user_id or "", has_files=bool(files)
    )
    if isinstance(parsed, Help):
        message = render_help("/handinger", deps.settings.handinger_max_budget)
        await client.chat_postMessage(
            channel=event["channel"], thread_ts=thread_ts, text=message.text, blocks=message.blocks
        )
        return
    if isinstance(parsed, CommandError):
        await tell_privately(client, event, thread_ts, render_notice(parsed.message, trusted=True))
        return
    in_thread = thread_ts != event["ts"]
    wanted = Wanted(
        event["channel"], event["ts"], thread_ts=thread_ts if in_thread else None, files=files
    )
    gathered = await gather(client, deps.settings, wanted, context.bot_id)
    started = await deps.service.start(
        team_id=context.team_id or "",
        channel_id=event["channel"],
        user_id=event["user"],
        instruction=parsed.instruction or attached_only(files),
        budget=parsed.budget,
        trigger_ts=event["ts"],
        thread_ts=thread_ts,
        context=gathered,
    )
    if isinstance(started, Started):
        await tell_gaps(client, event["channel"], thread_ts, gathered)
    elif isinstance(started, OverBudget):
        refused = render_notice(over_budget_text(started), trusted=True)
        await tell_privately(client, event, thread_ts, refused)


async def tell_privately(
    client: AsyncWebClient, event: dict[str, Any], thread_ts: str, message: SlackMessage
) -> None:
    """What only the mention's author sees, in its thread (a refusal of its options)."""
    try:
        await client.chat_postEphemeral(
            channel=event["channel"],
            user=event["user"],
            thread_ts=thread_ts,
            text=message.text,
            blocks=message.blocks,
        )
    except SlackApiError as error:
        log.info("cannot answer the mention privately: %s", error.response.get("error"))


async def in_assistant_thread(context: AsyncBoltContext, event: dict[str, Any]) -> str | None:
    """The thread of a message in a thread of the assistant pane, else None."""
    thread_ts = event.get("thread_ts")
    if event.get("channel_type") != "im" or not thread_ts or thread_ts == event["ts"]:
        return None
    known = await deps_of(context).service.is_assistant_thread(
        context.team_id or "", event["channel"], str(thread_ts)
    )
    return str(thread_ts) if known else None


async def start_assistant(
    context: AsyncBoltContext, client: AsyncWebClient, event: dict[str, Any], thread_ts: str
) -> None:
    """The first instruction of an assistant thread that has no worker yet: its worker starts
    with the thread's earlier messages and the attached files as context, like a mention in a
    thread (issue 19), and the thread is named after it."""
    deps = deps_of(context)
    instruction = parse_mention(str(event.get("text", "")), context.bot_user_id or "")
    files = files_of(event)
    if not instruction and not files:
        return
    wanted = Wanted(event["channel"], event["ts"], thread_ts=thread_ts, files=files)
    gathered = await gather(client, deps.settings, wanted, context.bot_id)
    started = await deps.service.start_in_assistant(
        team_id=context.team_id or "",
        channel_id=event["channel"],
        thread_ts=thread_ts,
        user_id=event["user"],
        instruction=instruction or attached_only(files),
        trigger_ts=event["ts"],
        context=gathered,
    )
    await set_title(client, event["channel"], thread_ts, instruction or attached_only(files))
    if isinstance(started, Started):
        await tell_gaps(client, event["channel"], thread_ts, gathered)


async def on_message(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if not is_human_message(event):
        return
    in_thread = bool(event.get("thread_ts")) and event.get("thread_ts") != event["ts"]
    thread = await in_worker_thread(context, event)
    assistant = await in_assistant_thread(context, event) if thread is None else None
    if thread is not None:
        replies = await deps_of(context).service.thread_replies(
            context.team_id or "", event["channel"], thread
        )
        addressed = event.get("channel_type") == "im" or mentions_app(event, context.bot_user_id)
        if replies.mode == "mention" and not addressed:
            return  # not addressed: it reaches the agent with the next turn that is
        if await claim(context, body, event):
            await continue_thread(context, client, event, thread, replies)
    elif assistant is not None and await claim(context, body, event):
        await start_assistant(context, client, event, assistant)
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
            await continue_thread(context, client, event, thread)
        return
    if await claim(context, body, event):
        thread_ts = event.get("thread_ts")
        root = str(thread_ts) if thread_ts and thread_ts != event["ts"] else event["ts"]
        await start_threaded(context, client, event, root)
