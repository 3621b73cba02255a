"""Stopping the schedules whose channel takes no more digests.

A digest refused because its channel was archived, the app removed from it or the channel gone
(`ChannelGone`) would be refused at every later run too, while the worker keeps running (and
costing) at Handinger. So the worker's active schedules in that channel are cancelled at
Handinger, recorded as cancelled with the reason in `cancelled_by` (`channel:archived`,
`channel:removed`, `channel:not-found`), and each one's creator is told by direct message what
happened and how to have it again. Nothing restarts by itself when the channel comes back: the
creator schedules it again.
"""

from __future__ import annotations

import logging

from ..handinger.client import HandingerClient
from ..handinger.errors import HandingerError, NotFoundError
from ..store import Schedule, Store
from .ports import ChannelTrouble, DigestSurface, ScheduleStopped

log = logging.getLogger(__name__)


class ScheduleStops:
    """Cancels a worker's schedules when their channel takes no more digests."""

    def __init__(self, store: Store, handinger: HandingerClient, surface: DigestSurface) -> None:
        self.store = store
        self.handinger = handinger
        self.surface = surface

    async def channel_gone(self, schedule: Schedule, reason: ChannelTrouble) -> int:
        """Stop every active schedule of `schedule`'s worker in its channel; return how many.
        One Handinger would not cancel for a passing reason stays active: its next digest
        fails the same way and it is tried again then."""
        stopped = 0
        for found in await self.store.worker_schedules(schedule.worker_id):
            if found.status != "active" or found.channel_id != schedule.channel_id:
                continue
            try:
                await self.handinger.cancel_schedule(found.worker_id, found.id)
            except NotFoundError:
                pass  # it already ran or was removed: nothing more runs either way
            except HandingerError as error:
                log.warning("schedule %s not cancelled on Handinger yet: %s", found.id, error)
                continue
            updated = await self.store.update_schedule(
                found.id, status="cancelled", cancelled_by=f"channel:{reason}"
            )
            log.warning(
                "schedule %s cancelled: its channel %s takes no more digests (%s); "
                "its creator %s is told",
                found.id,
                found.channel_id,
                reason,
                found.creator_id,
            )
            await self.surface.tell_creator(ScheduleStopped(updated, reason))
            stopped += 1
        return stopped
