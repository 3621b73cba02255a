"""`/handinger schedule|schedules|unschedule`, the Cancel buttons and the schedule modal."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...config import Settings
from ...core import problems
from ...core.runner import Runner
from ...core.schedules import cancel_schedule, confirmation, create_schedule, sync_worker
from ...core.when import ParsedSchedule, WhenError, parse_schedule
from ...handinger.errors import HandingerError
from ...handinger.models import BUDGETS, Budget
from ...store import Schedule
from ..commands import CommandError, Help, RunInstruction, parse_command
from ..mrkdwn import escape
from ..render import ephemeral, render_notice
from ..schedule_views import (
    BUDGET_BLOCK,
    CANCEL_SCHEDULE,
    INSTRUCTION_BLOCK,
    SCHEDULE_MODAL,
    WHEN_BLOCK,
    modal_values,
    render_schedule_list,
    schedule_modal,
)

log = logging.getLogger(__name__)

Handler = Callable[[AsyncAck, dict[str, Any], str, AsyncWebClient, AsyncRespond], Awaitable[None]]

SCHEDULE_HELP = (
    "*`/handinger schedule <when> <instruction>`* runs the instruction on a schedule and posts "
    "each result here as a digest. `<when>` is one of: `every 30m` · `every 2h` · `every 1d` · "
    "`in 45m` · `at 2026-12-01 09:00` · `at 09:00` · `daily 09:00` · `weekdays 09:00` · "
    '`weekly mon 09:00` · `cron "0 9 * * 1-5"`. `/handinger schedules` lists this channel\'s '
    "schedules; `/handinger unschedule <id>` cancels one."
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


def _budget(value: str | None) -> Budget | None:
    return next((b for b in BUDGETS if b == value), None)


class ScheduleCommands:
    """The schedule subcommands, their buttons and their modal, sharing one set of rules."""

    def __init__(self, runner: Runner, settings: Settings, wake: Callable[[], None]) -> None:
        self.runner = runner
        self.settings = settings
        self.wake = wake

    @property
    def handlers(self) -> dict[str, Handler]:
        return {
            "schedule": self.schedule,
            "schedules": self.list,
            "unschedule": self.unschedule,
        }

    def register(self, app: AsyncApp) -> None:
        app.action(CANCEL_SCHEDULE)(self.on_cancel_button)
        app.view(SCHEDULE_MODAL)(self.on_modal_submit)

    # ---- /handinger schedule ----------------------------------------------------------------

    async def schedule(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        args: str,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        if not args.strip():
            await ack()
            await self.open_modal(client, str(command["trigger_id"]), str(command["channel_id"]))
            return
        options = parse_command(args)
        if isinstance(options, CommandError):
            await ack(**ephemeral(render_notice(options.message, trusted=True)))
            return
        if isinstance(options, Help):
            await ack(**ephemeral(render_notice(SCHEDULE_HELP, trusted=True)))
            return
        text = options.instruction if isinstance(options, RunInstruction) else args
        budget = options.budget if isinstance(options, RunInstruction) else None
        if budget is not None and not self.settings.budget_allowed(budget):
            highest = self.settings.handinger_max_budget
            await ack(
                **ephemeral(
                    render_notice(
                        f"The `{budget}` budget is above this workspace's maximum (`{highest}`).",
                        trusted=True,
                    )
                )
            )
            return
        await ack()
        profile = await user_profile(client, str(command["user_id"]))
        parsed = parse_schedule(text, datetime.now(UTC), profile.get("tz"))
        if isinstance(parsed, WhenError):
            await respond(**ephemeral(render_notice(parsed.message, trusted=True)))
            return
        self.start(command, parsed, budget, command.get("response_url"))

    def start(
        self,
        origin: dict[str, Any],
        parsed: ParsedSchedule,
        budget: Budget | None,
        response_url: str | None,
    ) -> None:
        self.runner.start_new(
            team_id=str(origin["team_id"]),
            channel_id=str(origin["channel_id"]),
            user_id=str(origin["user_id"]),
            instruction=parsed.instruction,
            budget=budget,
            response_url=response_url,
            schedule=(parsed.when, parsed.description),
        )

    async def open_modal(
        self, client: AsyncWebClient, trigger_id: str, channel_id: str, run_id: int | None = None
    ) -> None:
        instruction, budget = "", str(self.settings.handinger_default_budget)
        if run_id is not None:
            run = self.runner.store.get_run(run_id)
            instruction, budget = run.input, run.budget
        view = schedule_modal(
            channel_id=channel_id, run_id=run_id, instruction=instruction, budget=budget
        )
        await client.views_open(trigger_id=trigger_id, view=view)

    async def on_modal_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        when_text, instruction, budget_text = modal_values(view)
        user = str(body["user"]["id"])
        errors: dict[str, str] = {}
        budget = _budget(budget_text)
        if budget is not None and not self.settings.budget_allowed(budget):
            errors[BUDGET_BLOCK] = (
                f"Above this workspace's maximum ({self.settings.handinger_max_budget})."
            )
        if not instruction:
            errors[INSTRUCTION_BLOCK] = "Tell the worker what to do on each run."
        profile = await user_profile(client, user)
        parsed = parse_schedule(
            f"{when_text} {instruction or '-'}", datetime.now(UTC), profile.get("tz")
        )
        if isinstance(parsed, WhenError):
            errors[WHEN_BLOCK] = _plain(parsed.message)
        if errors or isinstance(parsed, WhenError):
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        channel, run_id = str(meta.get("channel", "")), meta.get("run")
        team = str((body.get("team") or {}).get("id") or body["user"].get("team_id") or "")
        parsed = ParsedSchedule(
            parsed.when, instruction, parsed.description, parsed.next_runs, parsed.timezone_note
        )
        if run_id is None:
            origin = {"team_id": team, "channel_id": channel, "user_id": user}
            self.start(origin, parsed, budget, None)
            return
        await self._schedule_existing(client, int(run_id), team, user, parsed, budget)

    async def _schedule_existing(
        self,
        client: AsyncWebClient,
        run_id: int,
        team: str,
        user: str,
        parsed: ParsedSchedule,
        budget: Budget | None,
    ) -> None:
        """**Schedule this…**: a schedule on the card's own worker."""
        run = self.runner.store.get_run(run_id)
        if team and run.team_id != team:  # never another workspace's worker
            log.warning("schedule modal from %s names run %d of %s", team, run_id, run.team_id)
            return
        if run.worker_id is None:
            text = "This run has no worker to schedule yet. Try again once it has started."
        else:
            try:
                schedule = await create_schedule(
                    self.runner.store,
                    self.runner.handinger,
                    worker_id=run.worker_id,
                    team_id=run.team_id,
                    channel_id=run.channel_id,
                    creator_id=user,
                    input=parsed.instruction,
                    when=parsed.when,
                    budget=budget,
                    description=parsed.description,
                )
            except HandingerError as error:
                text = f"The schedule could not be created: {problems.describe(error)}"
            else:
                self.wake()
                text = confirmation(schedule, parsed.when, time.time())
        try:
            await client.chat_postEphemeral(channel=run.channel_id, user=user, text=escape(text))
        except SlackApiError as error:
            log.info("cannot confirm the schedule privately: %s", error)

    # ---- listing and cancelling -------------------------------------------------------------

    async def list(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        args: str,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        team, channel = str(command["team_id"]), str(command["channel_id"])
        store = self.runner.store
        for worker_id in {s.worker_id for s in store.channel_schedules(team, channel)}:
            try:
                await sync_worker(store, self.runner.handinger, worker_id)
            except HandingerError as error:
                log.info("cannot refresh the schedules of %s: %s", worker_id, error)
        await respond(**ephemeral(render_schedule_list(store.channel_schedules(team, channel))))

    async def unschedule(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        args: str,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        schedule_id = args.strip().split()[0] if args.strip() else ""
        if not schedule_id:
            await ack(
                **ephemeral(
                    render_notice(
                        "Which schedule? `/handinger unschedule <id>`; "
                        "`/handinger schedules` lists them.",
                        trusted=True,
                    )
                )
            )
            return
        await ack()
        text = await self.cancel(
            client,
            str(command["team_id"]),
            str(command["channel_id"]),
            str(command["user_id"]),
            schedule_id,
        )
        await respond(**ephemeral(render_notice(text, trusted=True)))

    async def on_cancel_button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        channel = str(
            (body.get("channel") or body.get("container") or {}).get("channel_id")
            or (body.get("channel") or {}).get("id", "")
        )
        team = str((body.get("team") or {}).get("id") or body["user"].get("team_id", ""))
        text = await self.cancel(
            client, team, channel, str(body["user"]["id"]), str(action["value"])
        )
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def cancel(
        self, client: AsyncWebClient, team: str, channel: str, user: str, schedule_id: str
    ) -> str:
        """Cancel on behalf of `user`, if they may; return what to tell them (mrkdwn)."""
        schedule = self.runner.store.get_schedule(schedule_id)
        shown = f"`{escape(schedule_id)}`"
        if schedule is None or schedule.team_id != team:
            return f"There is no schedule {shown}. `/handinger schedules` lists this channel's."
        if schedule.channel_id != channel:
            return f"Schedule {shown} posts to <#{schedule.channel_id}>; list and cancel it there."
        if schedule.status != "active":
            return f"Schedule {shown} is not active any more ({schedule.status})."
        if not await self.may_cancel(client, user, schedule):
            return (
                f"Only <@{schedule.creator_id}> (who created it), workspace admins and owners, "
                "and the people listed in `HANDINGER_SCHEDULE_ADMINS` can cancel schedule "
                f"{shown}."
            )
        try:
            cancelled = await cancel_schedule(
                self.runner.store, self.runner.handinger, schedule, user
            )
        except HandingerError as error:
            reason = escape(problems.describe(error))
            return f"Schedule {shown} could not be cancelled: {reason}"
        self.wake()
        if cancelled:
            return f"Cancelled {shown} ({escape(schedule.description)}). No more digests."
        return f"Schedule {shown} had already finished or was removed on Handinger."

    async def may_cancel(self, client: AsyncWebClient, user: str, schedule: Schedule) -> bool:
        if user == schedule.creator_id or user in self.settings.schedule_admins:
            return True
        profile = await user_profile(client, user)
        return bool(profile.get("is_admin") or profile.get("is_owner"))


def _plain(mrkdwn: str) -> str:
    """Modal errors are plain text: drop the mrkdwn code marks and entities."""
    return mrkdwn.replace("`", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
