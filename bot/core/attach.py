"""`/handinger schedule …` on a new worker: its schedule is made once the first run's worker
exists, and the requester is told, privately, what was scheduled or why it could not be."""

from __future__ import annotations

import logging

from ..handinger.errors import HandingerError
from ..handinger.models import WHEN_ADAPTER, When
from ..store import PendingSchedule, Run
from .context import TurnContext
from .ports import Notice, ScheduleMade, ScheduleNotMade
from .problems import diagnose
from .schedules import create_schedule

log = logging.getLogger(__name__)


async def attach_schedule(
    ctx: TurnContext, run: Run, pending: PendingSchedule, worker_id: str
) -> bool:
    """Create the schedule `pending` asks for on `worker_id`. False if Handinger refused it:
    the first run still completes, as a plain run."""
    when: When = WHEN_ADAPTER.validate_json(pending.when_json)
    try:
        schedule = await create_schedule(
            ctx.store,
            ctx.handinger,
            worker_id=worker_id,
            team_id=run.team_id,
            channel_id=run.channel_id,
            creator_id=run.user_id,
            input=pending.input,
            when=when,
            budget=pending.budget,
            description=pending.description,
        )
    except HandingerError as error:
        log.warning("run %d: schedule not created: %s", run.id, error)
        await ctx.store.drop_pending_schedule(run.id)
        await _tell(ctx, run, ScheduleNotMade(diagnose(error)))
        return False
    await ctx.store.pending_schedule_created(run.id, schedule.id)
    if ctx.schedules_changed is not None:
        ctx.schedules_changed()
    await _tell(ctx, run, ScheduleMade(schedule, when, ctx.clock()))
    return True


async def _tell(ctx: TurnContext, run: Run, notice: Notice) -> None:
    try:
        await ctx.surface.tell(run, notice)
    except Exception:
        log.warning("run %d: could not tell its requester", run.id, exc_info=True)
