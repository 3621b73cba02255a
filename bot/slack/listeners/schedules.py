"""`/handinger schedule|schedules|unschedule`, the Cancel buttons and the schedule modal."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...config import Settings
from ...core.answers import OverBudget
from ...core.service import IsAdmin
from ...core.when_times import duration_text
from ..blocks import ephemeral
from ..commands import CommandError, Help, parse_schedule_command
from ..replies import render_notice
from ..schedule_form import prefill, read_form
from ..schedule_views import modal_values, render_schedule_list, schedule_modal
from ..wording import cancel_text, over_budget_text, scheduled_text
from .deps import deps_of

log = logging.getLogger(__name__)

Subcommand = Callable[
    [dict[str, Any], str, AsyncBoltContext, AsyncWebClient, AsyncRespond],
    Awaitable[None],
]
"""A `/handinger` subcommand, called after the command was acked."""

SCHEDULE_HELP = (
    "*`/handinger schedule &lt;when&gt; &lt;instruction&gt;`* runs the instruction on a schedule "
    "and posts each result here as a digest. `&lt;when&gt;` is one of: `every 30m` · `every 2h` · "
    "`every 1d` · `in 45m` · `at 2026-12-01 09:00` · `at 09:00` · `daily 09:00` · "
    '`weekdays 09:00` · `weekly mon 09:00` · `cron "0 9 * * 1-5"`. '
    "`--budget low|standard|high|unlimited` (or `-b`) goes before `&lt;when&gt;` or right after "
    "it; `--` ends the options. `/handinger schedules` lists this channel's schedules; "
    "`/handinger unschedule &lt;id&gt;` cancels one."
)


async def user_profile(client: AsyncWebClient, user_id: str) -> dict[str, Any]:
    """The user's Slack profile (timezone, admin flags), or {} when it cannot be read."""
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as error:
        log.info("users.info for %s failed: %s", user_id, error)
        return {}
    user = response.get("user")
    return user if isinstance(user, dict) else {}


def is_admin(client: AsyncWebClient, user_id: str) -> IsAdmin:
    """Whether the user is a workspace admin or owner, as Slack's profile says."""

    async def ask() -> bool:
        profile = await user_profile(client, user_id)
        return bool(profile.get("is_admin") or profile.get("is_owner"))

    return ask


def schedule_help(settings: Settings) -> str:
    """`/handinger schedule --help`: the forms, where options go, the minimum interval."""
    minimum = settings.min_schedule_interval
    least = (
        f" Repeating schedules run at most every {duration_text(int(minimum.total_seconds()))}."
        if minimum
        else ""
    )
    return SCHEDULE_HELP + least


async def notice(respond: AsyncRespond, text: str) -> None:
    await respond(**ephemeral(render_notice(text, trusted=True)))


async def schedule(
    command: dict[str, Any],
    args: str,
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """`/handinger schedule <when> <instruction>`; bare, the modal."""
    deps, user = deps_of(context), str(command["user_id"])
    if not args.strip():
        await open_modal(context, client, str(command["trigger_id"]), str(command["channel_id"]))
        return
    profile = await user_profile(client, user)
    minimum = deps.settings.min_schedule_interval
    parsed = parse_schedule_command(args, datetime.now(UTC), profile.get("tz"), minimum)
    if isinstance(parsed, Help):
        await notice(respond, schedule_help(deps.settings))
        return
    if isinstance(parsed, CommandError):
        await notice(respond, parsed.message)
        return
    started = await deps.service.start(
        team_id=context.team_id or "",
        channel_id=str(command["channel_id"]),
        user_id=user,
        instruction=parsed.schedule.instruction,
        budget=parsed.budget,
        response_url=command.get("response_url"),
        schedule=parsed.schedule,
    )
    if isinstance(started, OverBudget):
        await notice(respond, over_budget_text(started))


async def list_schedules(
    command: dict[str, Any],
    args: str,
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """`/handinger schedules`."""
    listed = await deps_of(context).service.schedules(
        context.team_id or "", str(command["channel_id"])
    )
    await respond(**ephemeral(render_schedule_list(listed)))


async def unschedule(
    command: dict[str, Any],
    args: str,
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """`/handinger unschedule <id>` (without an id, `at_once` answered it)."""
    schedule_id = args.split()[0]
    user = str(command["user_id"])
    result = await deps_of(context).service.cancel(
        context.team_id or "",
        str(command["channel_id"]),
        user,
        schedule_id,
        is_admin(client, user),
    )
    await notice(respond, cancel_text(result, schedule_id))


async def on_cancel_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    where = body.get("channel") or body.get("container") or {}
    channel = str(where.get("channel_id") or (body.get("channel") or {}).get("id", ""))
    user, schedule_id = str(body["user"]["id"]), str(action["value"])
    service = deps_of(context).service
    result = await service.cancel(
        context.team_id or "", channel, user, schedule_id, is_admin(client, user)
    )
    text = cancel_text(result, schedule_id)
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def open_modal(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    trigger_id: str,
    channel_id: str,
    run_id: int | None = None,
) -> None:
    """The schedule modal; from a card (`run_id`), filled in with its instruction and budget."""
    deps = deps_of(context)
    instruction, budget = "", str(deps.settings.handinger_default_budget)
    run = await deps.service.run_of(context.team_id or "", run_id) if run_id is not None else None
    if run is not None:
        instruction, budget = prefill(run.input), run.budget
    view = schedule_modal(
        channel_id=channel_id, run_id=run_id, instruction=instruction, budget=budget
    )
    await client.views_open(trigger_id=trigger_id, view=view)


async def on_modal_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps, user = deps_of(context), str(body["user"]["id"])
    profile = await user_profile(client, user)
    now, tz = datetime.now(UTC), profile.get("tz")
    form = read_form(*modal_values(view), now=now, tz=tz, settings=deps.settings)
    if isinstance(form, dict):
        await ack(response_action="errors", errors=form)
        return
    parsed, budget = form
    await ack()
    meta = json.loads(view.get("private_metadata") or "{}")
    channel, run_id, team = str(meta.get("channel", "")), meta.get("run"), context.team_id or ""
    if run_id is None:
        await deps.service.start(
            team_id=team,
            channel_id=channel,
            user_id=user,
            instruction=parsed.instruction,
            budget=budget,
            schedule=parsed,
        )
        return
    run = await deps.service.run_of(team, int(run_id))
    if run is None:  # never another workspace's worker
        log.warning("schedule modal from %s names run %s it does not own", team, run_id)
        return
    text = scheduled_text(await deps.service.schedule_worker(run, user, parsed, budget))
    try:
        await client.chat_postEphemeral(channel=run.channel_id, user=user, text=text)
    except SlackApiError as error:
        log.info("cannot confirm the schedule privately: %s", error)


SUBCOMMANDS: dict[str, Subcommand] = {
    "schedule": schedule,
    "schedules": list_schedules,
    "unschedule": unschedule,
}
"""The `/handinger` words handled here, each acknowledging the command itself."""
