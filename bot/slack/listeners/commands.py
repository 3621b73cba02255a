"""`/handinger`: acknowledge at once, then start the run in the background."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from ...config import Settings
from ...core.runner import Runner
from ..commands import CommandError, Help, RunInstruction, Subcommand, parse_command
from ..render import SlackMessage, render_help, render_notice

COMMAND = "/handinger"


def ephemeral(message: SlackMessage) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}


def register(app: AsyncApp, runner: Runner, settings: Settings) -> None:
    @app.command(COMMAND)
    async def handle_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = parse_command(str(command.get("text", "")))
        if isinstance(parsed, Help):
            await ack(**ephemeral(render_help(COMMAND, settings.handinger_max_budget)))
            return
        if isinstance(parsed, CommandError):
            await ack(**ephemeral(render_notice(parsed.message, trusted=True)))
            return
        if isinstance(parsed, Subcommand):
            await ack(**ephemeral(render_notice(unavailable(parsed.name), trusted=True)))
            return
        assert isinstance(parsed, RunInstruction)
        if parsed.budget is not None and not settings.budget_allowed(parsed.budget):
            await ack(
                **ephemeral(render_notice(over_budget(parsed.budget, settings), trusted=True))
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


def unavailable(name: str) -> str:
    return (
        f"`{COMMAND} {name}` is not available in this version yet. To send an instruction "
        f"that starts with “{name}”, put `--` before it: `{COMMAND} -- {name} …`"
    )


def over_budget(budget: str, settings: Settings) -> str:
    highest = settings.handinger_max_budget
    return (
        f"The `{budget}` budget is above this workspace's maximum (`{highest}`). "
        f"Use `--budget {highest}` or lower, or ask an admin to raise `HANDINGER_MAX_BUDGET`."
    )
