"""Slack's agent surfaces: the assistant pane's thread events, the App Home, and the 👍/👎
under answers.

A message written in an assistant thread is an ordinary `message.im` event; `messages.py`
starts or continues its worker like any thread's (`start_in_assistant`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...store import Vote
from ..mrkdwn import escape
from ..run_refs import notice_metadata
from ..wording import FORGOTTEN, cancel_text, feedback_text
from .deps import deps_of

log = logging.getLogger(__name__)

TITLE_CHARS = 60


def _thread_of(event: dict[str, Any]) -> tuple[str, str, str, str | None]:
    """(DM, thread ts, user, the channel the user looks at) of an assistant thread event."""
    thread = event.get("assistant_thread") or {}
    context = thread.get("context") or {}
    return (
        str(thread.get("channel_id", "")),
        str(thread.get("thread_ts", "")),
        str(thread.get("user_id", "")),
        str(context["channel_id"]) if context.get("channel_id") else None,
    )


async def on_thread_started(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    """A user opened the assistant pane: greet them and suggest what to ask (once, however
    often Slack delivers the event)."""
    channel, thread_ts, user, looking_at = _thread_of(event)
    deps = deps_of(context)
    if not channel or not thread_ts:
        return
    if not await deps.service.claim_event(f"assistant:{channel}:{thread_ts}"):
        return
    await deps.service.assistant_opened(
        team_id=context.team_id or "",
        channel_id=channel,
        thread_ts=thread_ts,
        user_id=user,
        context_channel_id=looking_at,
    )
    greeting = deps.settings.slack_assistant_greeting
    await client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text=escape(greeting),
        metadata=notice_metadata("greeting"),
    )
    prompts = [
        {"title": title, "message": message} for title, message in deps.settings.assistant_prompts
    ]
    if prompts:
        try:
            await client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, prompts=prompts
            )
        except SlackApiError as error:
            log.info("suggested prompts not set in %s: %s", channel, error)


async def on_context_changed(event: dict[str, Any], context: AsyncBoltContext) -> None:
    """The user of an assistant thread looks at another channel now: the next instruction
    tells the agent so."""
    channel, thread_ts, _, looking_at = _thread_of(event)
    if channel and thread_ts:
        await deps_of(context).service.assistant_context(
            team_id=context.team_id or "",
            channel_id=channel,
            thread_ts=thread_ts,
            context_channel_id=looking_at,
        )


async def set_title(client: AsyncWebClient, channel: str, thread_ts: str, text: str) -> None:
    """Name an assistant thread after its first instruction."""
    title = " ".join(text.split())
    title = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"
    try:
        await client.assistant_threads_setTitle(
            channel_id=channel, thread_ts=thread_ts, title=title
        )
    except SlackApiError as error:
        log.info("assistant thread %s not titled: %s", thread_ts, error)


async def on_home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    home = deps_of(context).home
    if home is not None:
        await home.publish(context.team_id or "", str(event.get("user", "")))


async def on_home_cancel(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Cancel on the App Home: the user's own schedule; the tab is published again."""
    await ack()
    deps = deps_of(context)
    user, schedule_id = str(body["user"]["id"]), str(action.get("value", ""))
    result = await deps.service.cancel_mine(context.team_id or "", user, schedule_id)
    log.info("home cancel of %s by %s: %s", schedule_id, user, cancel_text(result, schedule_id))
    if deps.home is not None:
        await deps.home.publish(context.team_id or "", user)


async def on_feedback(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """👍/👎 under an answer: one vote per person and run; a second click changes it."""
    await ack()
    user = str(body["user"]["id"])
    verb, _, run_id = str(action.get("value", "")).partition(":")
    channel = str((body.get("channel") or {}).get("id", ""))
    container = body.get("container") or {}
    thread_ts = container.get("thread_ts") or container.get("message_ts")
    vote: Vote | None = "up" if verb == "up" else "down" if verb == "down" else None
    voted = (
        await deps_of(context).service.vote(context.team_id or "", run_id, user, vote)
        if vote is not None
        else None
    )
    text = feedback_text(voted) if voted is not None else FORGOTTEN
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except SlackApiError as error:
        log.info("feedback not acknowledged privately: %s", error)
