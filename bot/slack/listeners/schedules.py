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
from ...core.when import ParsedSchedule
from ...core.when_times import duration_text
from ...handinger.errors import HandingerError
from ...handinger.models import Budget
from ...store import Schedule
from ..commands import CommandError, Help, parse_schedule_command
from ..mrkdwn import escape
from ..options import over_budget
from ..render import ephemeral, render_notice
from ..schedule_form import prefill, read_form
from ..schedule_views import (
    CANCEL_SCHEDULE,
    SCHEDULE_MODAL,
    modal_values,
    render_schedule_list,
    schedule_modal,
)

log = logging.getLogger(__name__)

Handler = Callable[[AsyncAck, dict[str, Any], str, AsyncWebClient, AsyncRespond], Awaitable[None]]

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
        await ack()
        profile = await user_profile(client, str(command["user_id"]))
        parsed = parse_schedule_command(
            args, datetime.now(UTC), profile.get("tz"), self.settings.min_schedule_interval
        )
        if isinstance(parsed, Help):
            await respond(**ephemeral(render_notice(self.help(), trusted=True)))
            return
        if isinstance(parsed, CommandError):
            await respond(**ephemeral(render_notice(parsed.message, trusted=True)))
            return
        if parsed.budget is not None and not self.settings.budget_allowed(parsed.budget):
            highest = self.settings.handinger_max_budget
            notice = render_notice(over_budget(parsed.budget, highest), trusted=True)
            await respond(**ephemeral(notice))
            return
        self.start(command, parsed.schedule, parsed.budget, command.get("response_url"))

    def help(self) -> str:
        """`/handinger schedule --help`: the forms, where options go, the minimum interval."""
        minimum = self.settings.min_schedule_interval
        least = (
            f" Repeating schedules run at most every {duration_text(int(minimum.total_seconds()))}."
            if minimum
            else ""
        )
        return SCHEDULE_HELP + least

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
            instruction, budget = prefill(run.input), run.budget
        view = schedule_modal(
            channel_id=channel_id, run_id=run_id, instruction=instruction, budget=budget
        )
        await client.views_open(trigger_id=trigger_id, view=view)

    async def on_modal_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = str(body["user"]["id"])
        profile = await user_profile(client, user)
        form = read_form(
            *modal_values(view), now=datetime.now(UTC), tz=profile.get("tz"), settings=self.settings
        )
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        parsed, budget = form
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        channel, run_id = str(meta.get("channel", "")), meta.get("run")
        team = str((body.get("team") or {}).get("id") or body["user"].get("team_id") or "")
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
