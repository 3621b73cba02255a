"""`/handinger`: acknowledge at once, then start the run in the background."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...config import Settings
from ...core.runner import Runner
from ..commands import CommandError, Help, RunInstruction, Subcommand, parse_command
from ..options import over_budget
from ..render import StatusRow, ephemeral, render_help, render_notice, render_status
from .schedules import ScheduleCommands

COMMAND = "/handinger"
log = logging.getLogger(__name__)


def register(
    app: AsyncApp, runner: Runner, settings: Settings, schedules: ScheduleCommands
) -> None:
    async def status(
        command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        runs = runner.store.recent_workers(
            str(command["team_id"]), str(command["channel_id"]), str(command["user_id"]), 10
        )
        rows = []
        for run in runs:
            permalink = None
            if run.message_ts is not None:
                try:
                    found = await client.chat_getPermalink(
                        channel=run.channel_id, message_ts=run.message_ts
                    )
                    permalink = str(found["permalink"])
                except SlackApiError as error:
                    log.info("no permalink for run %d: %s", run.id, error)
            rows.append(StatusRow(run.input, run.status, run.created_at, permalink))
        message = render_status(rows, COMMAND)
        await respond(**ephemeral(message))

    @app.command(COMMAND)
    async def handle_command(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        parsed = parse_command(str(command.get("text", "")))
        if isinstance(parsed, Help):
            await ack(**ephemeral(render_help(COMMAND, settings.handinger_max_budget)))
            return
        if isinstance(parsed, CommandError):
            await ack(**ephemeral(render_notice(parsed.message, trusted=True)))
            return
        if isinstance(parsed, Subcommand):
            if parsed.name == "status":
                await ack()
                await status(command, client, respond)
            else:  # schedule, schedules, unschedule: every other command word
                await schedules.handlers[parsed.name](ack, command, parsed.args, client, respond)
            return
        assert isinstance(parsed, RunInstruction)
        if parsed.budget is not None and not settings.budget_allowed(parsed.budget):
            await ack(
                **ephemeral(
                    render_notice(
                        over_budget(parsed.budget, settings.handinger_max_budget), trusted=True
                    )
                )
            )
            return
        await ack()
        runner.start_new(
            team_id=str(command["team_id"]),
            channel_id=str(command["channel_id"]),
            user_id=str(command["user_id"]),
            instruction=parsed.instruction,
            budget=parsed.budget,
            response_url=command.get("response_url"),
        )
