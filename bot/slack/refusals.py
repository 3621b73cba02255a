"""One log line a minute about the requests the app turned away, however many there were.

Anyone can POST to a public request URL. Logging each forged or malformed request would let a
stranger flood the log (and bury the app's own lines), so refusals are counted: the first one
of a quiet spell is logged at once, the ones that follow within the window are summarised in a
single line when the window ends, and so on while they keep coming.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

WINDOW = 60.0
"""Seconds between two refusal lines at most."""

Schedule = Callable[[float, Callable[[], None]], Any]
"""`loop.call_later`: run the callback after that many seconds."""


class Refusals:
    """Counts refused requests by reason and logs them at most once per `window` seconds."""

    def __init__(
        self,
        log: logging.Logger,
        where: str,
        *,
        window: float = WINDOW,
        schedule: Schedule | None = None,
    ) -> None:
        self.log = log
        self.where = where
        self.window = window
        self._schedule = schedule
        self._pending: Counter[str] = Counter()
        self._open = False
        self.total = 0

    def refused(self, reason: str) -> None:
        """Count one refusal; log it now if no refusal was logged in the current window."""
        self.total += 1
        if self._open:
            self._pending[reason] += 1
            return
        self.log.warning(
            "refused a request to %s: %s. Refusals in the next %d s are counted and "
            "summarised in one line.",
            self.where,
            reason,
            self.window,
        )
        self._start_window()

    def _start_window(self) -> None:
        self._open = True
        schedule = self._schedule or asyncio.get_running_loop().call_later
        schedule(self.window, self._window_ended)

    def _window_ended(self) -> None:
        if not self._pending:
            self._open = False
            return
        count = sum(self._pending.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in self._pending.most_common())
        self._pending.clear()
        self.log.warning(
            "refused %d more request(s) to %s in the last %d s: %s",
            count,
            self.where,
            self.window,
            reasons,
        )
        self._start_window()
