"""The finished card's overflow menu: the worker's email address, Refresh, Schedule this…, and
who the thread's worker answers (every reply, or only @mentions)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...core.answers import EmailAddress, Failed
from ...core.gathered import ReplyMode
from ...store import Run
from ..context_wording import MODE_SET
from ..wording import FORGOTTEN, STILL_RUNNING, email_text, problem_text
from .deps import deps_of
from .schedules import open_modal

log = logging.getLogger(__name__)


async def on_run_action(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    user = str(body["user"]["id"])
    channel = str((body.get("channel") or body.get("container") or {}).get("id", ""))
    selected = (action.get("selected_option") or {}).get("value", "")
    verb, _, run_id = str(selected).partition(":")

    async def tell(text: str, run: Run | None = None) -> None:
        thread_ts = (run.thread_ts or run.message_ts) if run is not None else None
        try:
            await client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except SlackApiError as error:
            log.info("cannot answer the %s action privately: %s", verb, error)

    service = deps_of(context).service
    run = await service.run_of(context.team_id or "", run_id)
    if run is None:
        await tell(FORGOTTEN)
    elif verb == "email" and run.worker_id is not None:
        address = await service.email(run)
        if isinstance(address, EmailAddress):
            await tell(email_text(address.address), run)
        elif isinstance(address, Failed):
            await tell(problem_text(address.problem), run)
    elif verb == "refresh":
        refreshed = await service.refresh(run)
        if isinstance(refreshed, Failed):
            await tell(problem_text(refreshed.problem), run)
        elif refreshed == "running":
            await tell(STILL_RUNNING, run)
    elif verb == "schedule":
        trigger = str(body.get("trigger_id", ""))
        await open_modal(context, client, trigger, run.channel_id, run.id)
    elif verb in ("mode-auto", "mode-mention"):
        mode: ReplyMode = "mention" if verb == "mode-mention" else "auto"
        switched = await service.set_reply_mode(run, mode, user)
        if isinstance(switched, Failed):
            await tell(problem_text(switched.problem), run)
        else:
            await tell(MODE_SET[mode], run)
