"""How the core's data reads in Slack: the front door's answers (`core.answers`, mrkdwn), what
went wrong (`core.problems`, plain text, escaped by whoever shows it), what the core tells a
requester (`core.ports.Notice`), and what it says about a turn's files (`core.ports.FileProblem`,
plain text)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ..core.answers import (
    Cancelled,
    CancelRefused,
    Failed,
    NoWorker,
    OverBudget,
    Scheduled,
    Voted,
)
from ..core.ports import (
    ChannelTrouble,
    FileProblem,
    FileTrouble,
    Notice,
    ScheduleMade,
    ScheduleStopped,
)
from ..core.problems import Failure, Problem, ProblemCode
from ..core.text import visible_line
from ..core.views import DigestHeading
from ..core.when_times import next_runs
from ..handinger.models import When
from ..store import Schedule
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
NOT_TAKEN = (
    "Handinger could not take this request: something failed on the app's side (its log says "
    "what). Try again in a moment; if it keeps failing, tell whoever runs the app."
)
WORKER_GONE = (
    "This thread's Handinger worker no longer exists, so it cannot continue. "
    "Start a new one with `/handinger <instruction>`."
)
_PROBLEMS: dict[ProblemCode, str] = {
    "rejected_key": (
        "Handinger rejected the app's API key (401). An admin must check `HANDINGER_API_KEY`."
    ),
    "no_access": (
        "The app's Handinger API key has no access to this worker (403). "
        "An admin must check the key's organization and permissions."
    ),
    "worker_gone": WORKER_GONE,
    "rate_limited": (
        "Handinger is rate limiting the app (429){still_was}. Please try again in a minute."
    ),
    "server_error": (
        "Handinger had a server error ({status}){still_did}. Please try again in a few minutes."
    ),
    "worker_busy": "The worker is busy with another turn (409). Reply again once it has finished.",
    "refused": (
        "Handinger refused the request ({status}).{quoted} Please check the instruction and try"
        " again; if it keeps happening, an admin should check the logs."
    ),
    "unreachable": (
        "The app could not reach Handinger. Please try again shortly; if it keeps "
        "happening, an admin should check `HANDINGER_BASE_URL` and the network."
    ),
    "no_worker_id": (
        "Handinger did not say which worker it started, so the answer cannot be followed. "
        "Please try again; if it keeps happening, an admin should check the Handinger API."
    ),
    "unreadable": (
        "Handinger sent a response the app could not understand. Please try again; if it "
        "keeps happening, an admin should check the logs."
    ),
    "internal": "Something went wrong inside the app. The error was logged for the admin.",
    "lost_before_start": (
        "The app restarted before Handinger confirmed the worker, so this run may not have "
        "started. Please send the instruction again."
    ),
    "unfetched": (
        "Handinger kept failing{in_status} when the app fetched this turn's result, even after "
        "retrying. This message will show the result once Handinger answers again; Refresh in "
        "its menu tries right away."
    ),
}


def problem_text(problem: Problem) -> str:
    """One or two sentences (plain text): what happened and what to do next."""
    return _PROBLEMS[problem.code].format(
        status=problem.status,
        in_status="" if problem.status is None else f" ({problem.status})",
        still_was=" and still was after retrying" if problem.retried else "",
        still_did=" and still did after retrying" if problem.retried else "",
        quoted=f" It said: “{problem.said}”." if problem.said else "",
    )


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M UTC")


def confirmation(schedule: Schedule, when: When, now: float) -> str:
    """What the creator is told once the schedule exists (plain text)."""
    upcoming = next_runs(when, datetime.fromtimestamp(now, UTC))
    times = ", ".join(format_time(t) for t in upcoming) or "none"
    return (
        f"📅 Scheduled: {schedule.description}. Next run(s): {times}. "
        "Each run is posted in this channel as a digest; reply in a digest's thread to continue "
        f"the same worker. Cancel with `/handinger unschedule {schedule.id}` or from "
        "`/handinger schedules`."
    )


def notice_text(notice: Notice) -> str:
    """What the core tells a run's requester privately (plain text)."""
    if isinstance(notice, ScheduleMade):
        return confirmation(notice.schedule, notice.when, notice.now)
    return (
        f"The schedule could not be created: {problem_text(notice.problem)} "
        "This first run still completes."
    )


_STOPPED: dict[ChannelTrouble, tuple[str, str]] = {
    "archived": ("was archived", "unarchive the channel"),
    "removed": ("no longer has me in it", "invite me back with `/invite @Handinger`"),
    "not-found": (
        "is gone, or I can no longer see it (deleted, or a private channel I was removed from)",
        "invite me back if the channel still exists, or pick another channel",
    ),
}


def schedule_stopped_text(stopped: ScheduleStopped) -> str:
    """The direct message to a schedule's creator when it was stopped for its channel (mrkdwn,
    the user's words escaped): what happened and how to have it again."""
    schedule = stopped.schedule
    what, fix = _STOPPED[stopped.reason]
    instruction = visible_line(schedule.input)
    instruction = instruction if len(instruction) <= 200 else instruction[:199] + "…"
    return (
        f"I cancelled your schedule _{escape(visible_line(schedule.description))}_ "
        f"(“{escape(instruction)}”) in <#{schedule.channel_id}>: the channel {what}, so its "
        "digest could not be posted, and nothing more of it runs on Handinger. "
        f"To have it again, {fix}, then schedule it there once more: "
        "`/handinger schedule <when> <instruction>`."
    )


WAITING = "waiting for the worker's current turn"


def digest_title(heading: DigestHeading) -> str:
    """A scheduled digest's heading (plain text)."""
    note = " · posted late: it ran while the app was offline" if heading.late else ""
    return f"📅 Scheduled digest · {heading.description}{note}"


def failure_text(failure: Failure) -> str:
    """Why a run failed (plain text): the app's problem worded, or the worker's own words."""
    return failure if isinstance(failure, str) else problem_text(failure)


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
        return escape(f"The schedule could not be created: {problem_text(result.problem)}")
    return escape(confirmation(result.schedule, result.when, time.time()))


def cancel_text(result: Cancelled | CancelRefused | Failed, schedule_id: str) -> str:
    """What a user who asked to cancel a schedule is told (mrkdwn)."""
    shown = f"`{escape(schedule_id)}`"
    if isinstance(result, Failed):
        reason = escape(problem_text(result.problem))
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


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


_FILE_TROUBLES: dict[FileTrouble, str] = {
    "too-large": "{names} was not attached: it is larger than the {limit} limit for files.",
    "missing": "{names} was not attached: Handinger no longer has it (404).",
    "unfetched": (
        "{names} could not be downloaded from Handinger; it will be tried again after the next "
        "turn."
    ),
    "foreign": "{names} is hosted outside Handinger, so the app did not download it: {url}",
    "not-uploaded": "{names} could not be uploaded to Slack; ask an admin to check the logs.",
}


def file_problem_text(problem: FileProblem) -> str:
    """The line a thread gets about files that did not arrive (plain text)."""
    return _FILE_TROUBLES[problem.trouble].format(
        names=", ".join(problem.names),
        limit=human_size(problem.limit_bytes),
        url=visible_line(problem.url),
    )


def upload_comment(instruction: str, count: int) -> str:
    """What a turn's uploaded files are introduced with: the turn they come from."""
    noun = "File" if count == 1 else "Files"
    excerpt = instruction if len(instruction) <= 80 else instruction[:79] + "…"
    return f"{noun} from the turn “{excerpt}”"


def feedback_text(voted: Voted) -> str:
    """What someone who rated an answer is told, privately."""
    mark = "👍" if voted.vote == "up" else "👎"
    if voted.previous is not None and voted.previous != voted.vote:
        return f"Thanks: your vote is now {mark}."
    return f"Thanks for the {mark}: it helps us see which answers work."
