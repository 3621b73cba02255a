"""The front door of the core: everything a Slack listener may ask of the app.

Listeners parse a payload, call one method here and word the answer; they never touch the store
or the Handinger client. The rules of a workspace live here, once: the budget cap, who may
cancel a schedule and from which channel, never acting on another workspace's run. Results are
data (see `answers`), never Slack text: the Slack adapter words them (ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..budgets import BUDGETS, Budget
from ..config import Settings
from ..handinger.client import HandingerClient
from ..handinger.errors import HandingerError
from ..store import Run, Schedule, Store, Vote
from .answers import (
    Cancelled,
    CancelRefused,
    EmailAddress,
    Failed,
    Home,
    NoWorker,
    OverBudget,
    Scheduled,
    Started,
    ThreadReplies,
    Voted,
)
from .context_note import looking_at
from .gathered import Gathered, ReplyMode, as_reply_mode
from .problems import diagnose
from .prompt import ContextBudget, compose
from .requests import current_request
from .runner import Refreshed, Runner
from .schedules import cancel_schedule, create_schedule, sync_worker
from .when import ParsedSchedule

log = logging.getLogger(__name__)

IsAdmin = Callable[[], Awaitable[bool]]
"""Whether the user asking is a workspace admin or owner (Slack knows; asked only if needed)."""


@dataclass(frozen=True, slots=True)
class Rules:
    """What an installation allows, from its settings."""

    default_budget: Budget = "standard"
    max_budget: Budget = "high"
    schedule_admins: frozenset[str] = frozenset()
    reply_mode: ReplyMode = "auto"
    context: ContextBudget = field(default_factory=ContextBudget)

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            settings.handinger_default_budget,
            settings.handinger_max_budget,
            settings.schedule_admins,
            settings.handinger_reply_mode,
            ContextBudget(settings.handinger_context_chars, settings.handinger_file_text_chars),
        )

    def over_budget(self, budget: Budget | None) -> OverBudget | None:
        """Why `budget` may not be asked for, or None when it may."""
        if budget is None or BUDGETS.index(budget) <= BUDGETS.index(self.max_budget):
            return None
        return OverBudget(budget, self.max_budget)


class Service:
    """The application service every Slack listener calls."""

    def __init__(
        self,
        runner: Runner,
        store: Store,
        handinger: HandingerClient,
        rules: Rules,
        *,
        schedules_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.runner = runner
        self.rules = rules
        self._store = store
        self._handinger = handinger
        self._wake = schedules_changed

    # ---- runs ---------------------------------------------------------------------------------

    async def start(
        self,
        *,
        team_id: str,
        channel_id: str,
        user_id: str,
        instruction: str,
        budget: Budget | None = None,
        trigger_ts: str | None = None,
        thread_ts: str | None = None,
        response_url: str | None = None,
        schedule: ParsedSchedule | None = None,
        context: Gathered | None = None,
        note: str | None = None,
    ) -> Started | OverBudget:
        """Start a new worker in the background (`Runner.start_new`), within the budget cap;
        with `schedule`, the worker gets that schedule and this first run is its first digest;
        with `context`, the worker gets it before the instruction (`prompt.compose`), and
        `note` after it (where the user is looking, `context_note`)."""
        refused = self.rules.over_budget(budget)
        if refused is not None:
            return refused
        prompt = compose(instruction, context, self.rules.context)
        if note:
            prompt = f"{prompt or instruction}\n\n{note}"
        run = await self.runner.start_new(
            team_id=team_id,
            channel_id=channel_id,
            user_id=user_id,
            instruction=instruction,
            budget=budget,
            trigger_ts=trigger_ts,
            thread_ts=thread_ts,
            response_url=response_url,
            schedule=(schedule.when, schedule.description) if schedule is not None else None,
            prompt=prompt,
        )
        return Started(run)

    # ---- the assistant pane -------------------------------------------------------------------

    async def assistant_opened(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        context_channel_id: str | None,
    ) -> None:
        """A user opened a thread of the assistant pane (looking at `context_channel_id`)."""
        await self._store.add_assistant_thread(
            team_id, channel_id, thread_ts, user_id, context_channel_id
        )

    async def assistant_context(
        self, *, team_id: str, channel_id: str, thread_ts: str, context_channel_id: str | None
    ) -> None:
        """The user of an assistant thread now looks at another channel."""
        if not await self._store.set_assistant_context(
            team_id, channel_id, thread_ts, context_channel_id
        ):  # a thread opened before the app knew of assistant threads
            await self._store.add_assistant_thread(
                team_id, channel_id, thread_ts, "", context_channel_id
            )

    async def is_assistant_thread(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        return await self._store.find_assistant_thread(team_id, channel_id, thread_ts) is not None

    async def start_in_assistant(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        instruction: str,
        trigger_ts: str,
        context: Gathered | None = None,
    ) -> Started | OverBudget:
        """The first instruction of an assistant thread starts its worker; the agent is told
        which channel the user is looking at, if Slack said."""
        thread = await self._store.find_assistant_thread(team_id, channel_id, thread_ts)
        return await self.start(
            team_id=team_id,
            channel_id=channel_id,
            user_id=user_id,
            instruction=instruction,
            trigger_ts=trigger_ts,
            thread_ts=thread_ts,
            context=context,
            note=looking_at(thread.context_channel_id if thread else None),
        )

    # ---- feedback and the App Home ------------------------------------------------------------

    async def vote(self, team_id: str, run_id: str | int, user_id: str, vote: Vote) -> Voted | None:
        """Record a 👍/👎 on a run's answer; a second click changes the vote. None when the run
        is unknown here."""
        run = await self.run_of(team_id, run_id)
        if run is None:
            return None
        before = await self._store.feedback_of(run.id, user_id)
        await self._store.record_feedback(run.id, user_id, vote)
        log.info(
            "feedback: run %d %s by %s%s",
            run.id,
            vote,
            user_id,
            f" (was {before.vote})" if before is not None else "",
        )
        return Voted(run, vote, before.vote if before is not None else None)

    async def feedback(self, runs: list[Run]) -> dict[str, tuple[int, int]]:
        """(👍, 👎) per worker of `runs`, over all its answers."""
        return await self._store.worker_feedback([r.worker_id for r in runs if r.worker_id])

    async def home(self, team_id: str, user_id: str, limit: int = 10) -> Home:
        """What the user's App Home shows."""
        runs = await self._store.user_workers(team_id, user_id, limit)
        schedules = await self._store.user_schedules(team_id, user_id)
        return Home(runs, schedules, await self.feedback(runs))

    async def cancel_mine(
        self, team_id: str, user_id: str, schedule_id: str
    ) -> Cancelled | CancelRefused | Failed:
        """Cancel from the App Home, which lists only the user's own schedules: the creator
        may, from wherever they are."""
        schedule = await self._store.get_schedule(schedule_id)
        if schedule is None or schedule.team_id != team_id:
            return CancelRefused("unknown", schedule_id)
        if schedule.creator_id != user_id:
            return CancelRefused("forbidden", schedule_id, schedule)

        async def not_admin() -> bool:
            return False

        return await self.cancel(team_id, schedule.channel_id, user_id, schedule_id, not_admin)

    async def claim_event(self, *keys: str) -> bool:
        """True for the first claim of any of `keys` (Slack sends some messages twice); the
        request being handled claims them (`requests.py`), so a request taken over from a
        process that died finds them its own."""
        request = current_request.get()
        return await self._store.claim_event(*keys, request=request.key if request else None)

    async def is_worker_thread(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        return await self.runner.is_worker_thread(team_id, channel_id, thread_ts)

    async def follow_up(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        text: str,
        trigger_ts: str,
        context: Gathered | None = None,
    ) -> Run | None:
        """Continue a thread's worker (`Runner.follow_up`), with `context` before the
        instruction; None if the thread has none."""
        return await self.runner.follow_up(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            user_id=user_id,
            text=text,
            trigger_ts=trigger_ts,
            prompt=compose(text, context, self.rules.context),
        )

    async def thread_replies(self, team_id: str, channel_id: str, thread_ts: str) -> ThreadReplies:
        """Who a worker's thread answers, and since which message replies are news to it."""
        mode = as_reply_mode(
            await self._store.reply_mode(team_id, channel_id, thread_ts), self.rules.reply_mode
        )
        runs = await self._store.thread_runs(team_id, channel_id, thread_ts)
        since = next((r.trigger_ts or r.message_ts for r in reversed(runs)), None)
        return ThreadReplies(mode, since or thread_ts)

    async def set_reply_mode(self, run: Run, mode: ReplyMode, user_id: str) -> Refreshed | Failed:
        """The card's ⋯ switch: who the run's thread answers from now on; the card is redrawn
        to show it."""
        thread = run.thread_ts or run.message_ts
        if thread is not None:
            await self._store.set_reply_mode(run.team_id, run.channel_id, thread, mode, user_id)
        return await self.refresh(run)

    async def status(
        self, team_id: str, channel_id: str, user_id: str, limit: int = 10
    ) -> list[Run]:
        """The user's latest workers in this channel, newest first."""
        return await self._store.recent_workers(team_id, channel_id, user_id, limit)

    async def run_of(self, team_id: str, run_id: str | int) -> Run | None:
        """The run a card shows, or None when the app does not know it (its database was reset)
        or it belongs to another workspace."""
        try:
            run = await self._store.get_run(int(run_id))
        except (KeyError, ValueError):
            return None
        if team_id and run.team_id != team_id:  # never act on another workspace's run
            return None
        return run

    async def email(self, run: Run) -> EmailAddress | NoWorker | Failed:
        """The inbound email address of the run's worker."""
        if run.worker_id is None:
            return NoWorker()
        try:
            return EmailAddress(await self._handinger.get_email(run.worker_id))
        except HandingerError as error:
            return Failed(diagnose(error))

    async def refresh(self, run: Run) -> Refreshed | Failed:
        """The card's Refresh (`Runner.refresh`)."""
        try:
            return await self.runner.refresh(run)
        except HandingerError as error:
            return Failed(diagnose(error))

    # ---- schedules ----------------------------------------------------------------------------

    async def schedule_worker(
        self, run: Run, user_id: str, parsed: ParsedSchedule, budget: Budget | None
    ) -> Scheduled | NoWorker | OverBudget | Failed:
        """**Schedule this…**: a schedule on the card's own worker."""
        refused = self.rules.over_budget(budget)
        if refused is not None:
            return refused
        if run.worker_id is None:
            return NoWorker()
        try:
            schedule = await create_schedule(
                self._store,
                self._handinger,
                worker_id=run.worker_id,
                team_id=run.team_id,
                channel_id=run.channel_id,
                creator_id=user_id,
                input=parsed.instruction,
                when=parsed.when,
                budget=budget,
                description=parsed.description,
            )
        except HandingerError as error:
            return Failed(diagnose(error))
        self._wake()
        return Scheduled(schedule, parsed.when)

    async def schedules(self, team_id: str, channel_id: str) -> list[Schedule]:
        """The channel's schedules, brought in line with Handinger's first where it answers."""
        listed = await self._store.channel_schedules(team_id, channel_id)
        for worker_id in {s.worker_id for s in listed}:
            try:
                await sync_worker(self._store, self._handinger, worker_id)
            except HandingerError as error:
                log.info("cannot refresh the schedules of %s: %s", worker_id, error)
        return await self._store.channel_schedules(team_id, channel_id)

    async def cancel(
        self, team_id: str, channel_id: str, user_id: str, schedule_id: str, is_admin: IsAdmin
    ) -> Cancelled | CancelRefused | Failed:
        """Cancel a schedule on behalf of `user_id`, if they may, from the channel it posts to.

        Its creator, the people in `HANDINGER_SCHEDULE_ADMINS` and workspace admins may."""
        schedule = await self._store.get_schedule(schedule_id)
        if schedule is None or schedule.team_id != team_id:
            return CancelRefused("unknown", schedule_id)
        if schedule.channel_id != channel_id:
            return CancelRefused("elsewhere", schedule_id, schedule)
        if schedule.status != "active":
            return CancelRefused("inactive", schedule_id, schedule)
        allowed = user_id == schedule.creator_id or user_id in self.rules.schedule_admins
        if not allowed and not await is_admin():
            return CancelRefused("forbidden", schedule_id, schedule)
        try:
            cancelled = await cancel_schedule(self._store, self._handinger, schedule, user_id)
        except HandingerError as error:
            return Failed(diagnose(error))
        self._wake()
        return Cancelled(schedule, still_there=cancelled)
