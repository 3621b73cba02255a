"""Firing schedules on the emulated clock.

One background task sleeps until the earliest due schedule (in real seconds, given the clock's
scale) and is woken early whenever schedules, the clock or a worker's busy state change, so
there is no polling loop. A schedule that falls due while its worker is busy waits and fires
right after the running turn ends (one turn per worker at a time, as for continue).
"""

from __future__ import annotations

import asyncio
import contextlib

from .agent import start_turn
from .state import Emulator
from .validate import next_cron


class Scheduler:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._wake = asyncio.Event()
        emu.on_turn_end = self.wake
        emu.on_schedules_changed = self.wake

    def wake(self) -> None:
        self._wake.set()

    def fire_due(self) -> int:
        """Start a turn for every due schedule whose worker is idle; return how many fired."""
        now = self.emu.clock.now()
        fired = 0
        due = [
            (schedule.next_run, worker, schedule)
            for worker in self.emu.workers.values()
            for schedule in worker.schedules.values()
            if schedule.next_run <= now
        ]
        for _, worker, schedule in sorted(due, key=lambda item: item[0]):
            if worker.busy or schedule.id not in worker.schedules:
                continue
            start_turn(self.emu, worker, schedule.input, schedule.budget)
            fired += 1
            if schedule.type == "interval" and schedule.interval_seconds is not None:
                schedule.next_run = now + schedule.interval_seconds
            elif schedule.type == "cron" and schedule.cron is not None:
                schedule.next_run = next_cron(schedule.cron, now)
            else:
                del worker.schedules[schedule.id]
        return fired

    def _seconds_to_next(self) -> float | None:
        """Real seconds until the next schedule that could fire (idle workers only)."""
        times = [
            schedule.next_run
            for worker in self.emu.workers.values()
            if not worker.busy
            for schedule in worker.schedules.values()
        ]
        if not times:
            return None
        return self.emu.clock.real_seconds_until(min(times))

    async def run(self) -> None:
        while True:
            self._wake.clear()
            self.fire_due()
            delay = self._seconds_to_next()
            if delay is None:
                await self._wake.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(delay, 0.001)):
                        await self._wake.wait()
