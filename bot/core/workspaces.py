"""When a workspace uninstalls the app (or revokes its bot token): stop everything there.

The workspace's bot token is gone, so nothing here talks to Slack. Its queued and in-flight runs
fail quietly and their turns are cancelled; its threads are forgotten; its active schedules are
marked gone in the store at once (so the watcher posts no digest for nobody) and then cancelled
on Handinger, so no more turns run for a workspace that cannot see them. Safe to run twice:
Slack sends both `tokens_revoked` and `app_uninstalled`, in no guaranteed order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..handinger.client import HandingerClient
from ..handinger.errors import HandingerError, NotFoundError
from ..store import ForgottenWorkspace
from .runner import Runner

log = logging.getLogger(__name__)

UNINSTALLED = "The app was uninstalled from this workspace."
"""The error recorded on the runs that were stopped."""


class Forgets(Protocol):
    """Anything that holds per-workspace state to drop (the Slack surface: edits, clients)."""

    def forget_workspace(self, team_id: str) -> None: ...


class WatchesWorkers(Protocol):
    def forget_workers(self, worker_ids: set[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Farewell:
    """What leaving a workspace did."""

    forgotten: ForgottenWorkspace
    cancelled: list[str] = field(default_factory=list)
    """Schedules cancelled on Handinger."""
    failed: list[str] = field(default_factory=list)
    """Schedules Handinger could not cancel now (marked gone here all the same)."""


class WorkspaceCleanup:
    """Stops the app's work in a workspace that uninstalled it."""

    def __init__(
        self,
        runner: Runner,
        handinger: HandingerClient,
        *,
        watcher: WatchesWorkers | None = None,
        forgets: list[Forgets] | None = None,
        schedules_changed: Callable[[], None] | None = None,
    ) -> None:
        self.runner = runner
        self.handinger = handinger
        self.watcher = watcher
        self.forgets = forgets or []
        self.schedules_changed = schedules_changed

    def left_elsewhere(self, team_id: str) -> int:
        """Another process was told and the store forgot the workspace (`departures.py`):
        stop this process's turns and edits there; return how many turns were stopped."""
        stopped = self.runner.left_elsewhere(team_id)
        for holder in self.forgets:
            holder.forget_workspace(team_id)
        if self.schedules_changed is not None:
            self.schedules_changed()
        return stopped

    async def uninstalled(self, team_id: str, reason: str = UNINSTALLED) -> Farewell:
        # Everything local stops before the first await (the store's round trip), so nothing
        # of this workspace can start, post or edit in between.
        self.runner.stop_workspace(team_id)
        for holder in self.forgets:
            holder.forget_workspace(team_id)
        forgotten = await self.runner.abandon_workspace(team_id, reason)
        if self.watcher is not None and forgotten.schedules:
            self.watcher.forget_workers({s.worker_id for s in forgotten.schedules})
        if self.schedules_changed is not None:
            self.schedules_changed()
        farewell = Farewell(forgotten)
        for schedule in forgotten.schedules:
            try:
                await self.handinger.cancel_schedule(schedule.worker_id, schedule.id)
            except NotFoundError:
                pass  # already ran or was removed: nothing will run
            except HandingerError as error:
                log.warning(
                    "schedule %s of uninstalled workspace %s not cancelled on Handinger: %s",
                    schedule.id,
                    team_id,
                    error,
                )
                farewell.failed.append(schedule.id)
                continue
            farewell.cancelled.append(schedule.id)
        log.info(
            "workspace %s: the app was removed; %d schedule(s) cancelled on Handinger",
            team_id,
            len(farewell.cancelled),
        )
        return farewell
