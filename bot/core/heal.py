"""Show the outcome of finished runs whose message does not show it yet.

A run ends even when Slack would not take its final message, or Handinger kept failing the
final GET (both passing failures): it is then recorded with `final_pending` and handed here,
and `redraw.show_final` is tried again with capped exponential backoff for a long time, in the
background, holding the run's lease while it tries, so of several processes one shows it.
After a restart, `Runner.recover` hands over every such run again, and a live process's
takeover pass (`Runner.keep_watch`) those a process that stopped or died left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..store import Run, Store
from .context import TurnContext
from .ownership import Ownership, run_lease
from .ports import Undeliverable
from .redraw import show_final
from .tasks import Tasks
from .turn import Turn

log = logging.getLogger(__name__)


class Healer:
    """One background task per run whose final message is pending, per workspace."""

    def __init__(
        self, ctx: TurnContext, turn: Callable[[Run], Awaitable[Turn]], ownership: Ownership
    ) -> None:
        self.ctx = ctx
        self.ownership = ownership
        self.store: Store = ctx.store
        self._turn = turn
        self._tasks: Tasks[str] = Tasks()  # each task under its workspace
        self._runs: set[int] = set()

    def later(self, run: Run, *, at_once: bool = False) -> None:
        """Show `run`'s outcome when possible; first try now if `at_once` (after a restart)."""
        if run.id in self._runs:
            return
        self._runs.add(run.id)
        self._tasks.spawn(self._heal(run.id, at_once=at_once), run.team_id)

    def cancel(self, team_id: str | None = None) -> None:
        """Stop healing in a workspace (every workspace when None)."""
        self._tasks.cancel(None if team_id is None else {team_id})

    async def aclose(self) -> None:
        await self._tasks.aclose()

    async def _heal(self, run_id: int, *, at_once: bool) -> None:
        policy = self.ctx.policy
        delay, waited = policy.heal_initial, 0.0
        lease, held = run_lease(run_id), False
        try:
            while True:
                if not at_once:
                    if waited >= policy.heal_for:
                        log.warning("run %d: gave up showing its final message", run_id)
                        return
                    await self.ctx.sleep(delay)
                    waited += delay
                    delay = min(delay * 2, policy.heal_max)
                at_once = False
                try:
                    held = await self.ownership.take(lease)
                    if not held:  # another process shows it
                        return
                    run = await self.store.get_run(run_id)
                    if run.final_pending is None:  # shown meanwhile (a Refresh)
                        return
                    if await show_final(await self._turn(run)):
                        log.info("run %d: final message shown", run_id)
                        return
                except asyncio.CancelledError:
                    raise
                except Undeliverable as error:  # it can never be shown: stop trying
                    log.info("run %d: final message cannot be shown: %s", run_id, error)
                    await self.store.update_run(run_id, final_pending=None)
                    return
                except Exception as error:
                    log.info("run %d: final message still not shown: %r", run_id, error)
        finally:
            self._runs.discard(run_id)
            if held:
                await self.ownership.let_go(lease)
