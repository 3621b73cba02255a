"""`/handinger`: acknowledge at once (with the answer `at_once` decides), then do the work."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...store import Run
from ..at_once import COMMAND, command_answer
from ..blocks import ephemeral
from ..commands import RunInstruction, Subcommand, parse_command
from ..replies import StatusRow, render_status
from .deps import deps_of
from .schedules import SUBCOMMANDS

__all__ = ["COMMAND", "on_command"]

log = logging.getLogger(__name__)


async def on_command(
    ack: AsyncAck,
    command: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    deps = deps_of(context)
    text = str(command.get("text", ""))
    answer = command_answer(text, deps.settings, deps.service.rules)
    await ack(**(answer or {}))  # in HTTP mode the ingress already sent this very answer
    if answer is not None:
        return
    parsed = parse_command(text)
    if isinstance(parsed, Subcommand) and parsed.name == "status":
        await status(command, context, client, respond)
    elif isinstance(parsed, Subcommand):  # schedule, schedules, unschedule
        await SUBCOMMANDS[parsed.name](command, parsed.args, context, client, respond)
    elif isinstance(parsed, RunInstruction):
        await deps.service.start(
            team_id=context.team_id or "",
            channel_id=str(command["channel_id"]),
            user_id=str(command["user_id"]),
            instruction=parsed.instruction,
            budget=parsed.budget,
            response_url=command.get("response_url"),
        )


async def status(
    command: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """`/handinger status`: the user's latest workers here, each linked to its card."""
    service = deps_of(context).service
    runs = await service.status(
        context.team_id or "", str(command["channel_id"]), str(command["user_id"])
    )
    votes = await service.feedback(runs)
    rows = [
        StatusRow(
            run.input,
            run.status,
            run.created_at,
            await permalink(client, run),
            votes.get(run.worker_id or "", (0, 0)),
        )
        for run in runs
    ]
    await respond(**ephemeral(render_status(rows, COMMAND)))


async def permalink(client: AsyncWebClient, run: Run) -> str | None:
    if run.message_ts is None:
        return None
    try:
        found = await client.chat_getPermalink(channel=run.channel_id, message_ts=run.message_ts)
    except SlackApiError as error:
        log.info("no permalink for run %d: %s", run.id, error)
        return None
    return str(found["permalink"])
