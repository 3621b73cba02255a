"""Workspaces left while another process was told: each process stops its work there too.

Slack sends `app_uninstalled` / `tokens_revoked` to one replica. That one stops its turns,
and `Store.forget_workspace` fails the workspace's runs and records the departure. Every
process reads new departures at each heartbeat (`heartbeat.py`) and stops its own turns and edits
there, so within a beat no replica works for a workspace that removed the app.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ..store import Store

log = logging.getLogger(__name__)


class LeavesWorkspaces(Protocol):
    def left_elsewhere(self, team_id: str) -> int: ...


class Departures:
    """Follows the store's departures from when this process started."""

    def __init__(self, store: Store, cleanup: LeavesWorkspaces) -> None:
        self.store = store
        self.cleanup = cleanup
        self.seen: int | None = None

    async def start(self) -> None:
        """Departures before now were handled by the processes running then."""
        self.seen = await self.store.last_departure()

    async def catch_up(self) -> list[str]:
        """Stop this process's work in every workspace left since the last look."""
        if self.seen is None:
            await self.start()
        assert self.seen is not None
        left: list[str] = []
        for departure, team_id in await self.store.departures_after(self.seen):
            self.seen = departure
            stopped = self.cleanup.left_elsewhere(team_id)
            if stopped:
                log.info("workspace %s was left: %d turn(s) stopped here", team_id, stopped)
            left.append(team_id)
        return left
