"""The finished card's overflow menu: the worker's email address, Refresh, Schedule this…"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...core import problems
from ...core.runner import Runner
from ...handinger.errors import HandingerError
from ...store import Run
from ..mrkdwn import escape
from ..render import RUN_ACTIONS
from .schedules import ScheduleCommands

log = logging.getLogger(__name__)

FORGOTTEN = (
    "This card belongs to a run the app no longer knows (its database was reset). "
    "Start a new worker with `/handinger <instruction>`."
)


STILL_RUNNING = (
    "This turn is still running: its message shows the answer as it comes and when it ends."
)


def email_text(address: str) -> str:
    return (
        f"This worker's inbound address is `{escape(address)}`. Forward or send mail there and "
        "the worker receives it."
    )


def register(app: AsyncApp, runner: Runner, schedules: ScheduleCommands) -> None:
    @app.action(RUN_ACTIONS)
    async def on_run_action(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
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

        team = str((body.get("team") or {}).get("id") or body["user"].get("team_id", ""))
        try:
            run = runner.store.get_run(int(run_id))
        except (KeyError, ValueError):
            await tell(FORGOTTEN)
            return
        if team and run.team_id != team:  # never act on another workspace's run
            await tell(FORGOTTEN)
            return
        try:
            if verb == "email" and run.worker_id is not None:
                await tell(email_text(await runner.handinger.get_email(run.worker_id)), run)
            elif verb == "refresh":
                if await runner.refresh(run) == "running":
                    await tell(STILL_RUNNING, run)
            elif verb == "schedule":
                trigger = str(body.get("trigger_id", ""))
                await schedules.open_modal(client, trigger, run.channel_id, run.id)
        except HandingerError as error:
            await tell(problems.describe(error), run)
