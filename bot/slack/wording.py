"""How the front door's answers (`core.answers`) read in Slack (mrkdwn)."""

from __future__ import annotations

import time

from ..core import problems
from ..core.answers import Cancelled, CancelRefused, Failed, NoWorker, OverBudget, Scheduled
from ..core.schedules import confirmation
from .mrkdwn import escape
from .options import over_budget

FORGOTTEN = (
    "This card belongs to a run the app no longer knows (its database was reset). "
    "Start a new worker with `/handinger <instruction>`."
)
STILL_RUNNING = (
    "This turn is still running: its message shows the answer as it comes and when it ends."
)
NO_WORKER_TO_SCHEDULE = "This run has no worker to schedule yet. Try again once it has started."
WHICH_SCHEDULE = "Which schedule? `/handinger unschedule <id>`; `/handinger schedules` lists them."


def email_text(address: str) -> str:
    return (
        f"This worker's inbound address is `{escape(address)}`. Forward or send mail there and "
        "the worker receives it."
    )


def over_budget_text(refused: OverBudget) -> str:
    return over_budget(refused.asked, refused.highest)


def scheduled_text(result: Scheduled | NoWorker | OverBudget | Failed) -> str:
    """The answer to **Schedule this…** (mrkdwn, escaped)."""
    if isinstance(result, OverBudget):
        return over_budget_text(result)
    if isinstance(result, NoWorker):
        return escape(NO_WORKER_TO_SCHEDULE)
    if isinstance(result, Failed):
        return escape(f"The schedule could not be created: {problems.describe(result.error)}")
    return escape(confirmation(result.schedule, result.when, time.time()))


def cancel_text(result: Cancelled | CancelRefused | Failed, schedule_id: str) -> str:
    """What a user who asked to cancel a schedule is told (mrkdwn)."""
    shown = f"`{escape(schedule_id)}`"
    if isinstance(result, Failed):
        reason = escape(problems.describe(result.error))
        return f"Schedule {shown} could not be cancelled: {reason}"
    if isinstance(result, Cancelled):
        if result.still_there:
            return f"Cancelled {shown} ({escape(result.schedule.description)}). No more digests."
        return f"Schedule {shown} had already finished or was removed on Handinger."
    schedule = result.schedule
    if result.why == "unknown" or schedule is None:
        return f"There is no schedule {shown}. `/handinger schedules` lists this channel's."
    if result.why == "elsewhere":
        return f"Schedule {shown} posts to <#{schedule.channel_id}>; list and cancel it there."
    if result.why == "inactive":
        return f"Schedule {shown} is not active any more ({schedule.status})."
    return (
        f"Only <@{schedule.creator_id}> (who created it), workspace admins and owners, "
        "and the people listed in `HANDINGER_SCHEDULE_ADMINS` can cancel schedule "
        f"{shown}."
    )
