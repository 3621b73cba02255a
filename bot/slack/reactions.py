"""The reactions on a follow-up's message (⏳ queued, 👀 started, ✅/❌ done), paced and coalesced.

Reactions are cosmetic, and their methods have small budgets per workspace: `reactions.add` is
Tier 3 (about 50 a minute), `reactions.remove` Tier 2 (about 20). Fifty follow-ups at once used
to spend both many times over, mostly on removing a ⏳ that was never there. So:

- Only a reaction this app put on a message is taken off. The app knows what it put on from
  what it did in this process; for a message marked by a process before a restart (or forgotten),
  it falls back to what the run's lifecycle implies (`REACTIONS`), and a run created in this
  process was never marked ⏳ unless this process did it.
- Each message's wanted reaction is kept, not each transition: a mark replaces the one not yet
  shown, so ⏳→👀→✅ on a message whose 👀 is still waiting its turn becomes one ✅.
- Calls are paced per workspace within each method's tier, as Slack documents it: so many in
  any minute (`TierWindow`); a 429 anyway pauses that method for its `Retry-After`. Marking
  never blocks a run: a lane per workspace sends the marks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from ..core.ports import Mark
from ..store import Run
from .clients import TeamClients
from .posting import retry_after
from .refused import explain
from .transient import Patience, Sleep, code_of, is_transient

log = logging.getLogger(__name__)

REACTIONS: dict[Mark, tuple[str | None, str]] = {
    "queued": (None, "hourglass_flowing_sand"),
    "started": ("hourglass_flowing_sand", "eyes"),
    "completed": ("eyes", "white_check_mark"),
    "failed": ("eyes", "x"),
    "recovered": ("x", "white_check_mark"),
}
"""For each mark: the reaction the run's lifecycle put on before it, and the one to put on."""

TIERS: dict[str, int] = {"add": 50, "remove": 20}
"""Per method: calls in any minute per workspace (`reactions.add` is Tier 3, `remove` Tier 2)."""
WINDOW = 61.0
"""A minute, and a second for the time a call takes to reach Slack, which counts its arrival."""
FINE = ("already_reacted", "no_reaction", "message_not_found")
"""Answers that leave the message as wanted (or gone): nothing more to do."""
MAX_REMEMBERED = 10_000


@dataclass(slots=True)
class Marked:
    """One message: the reaction of ours known to be on it, and the one wanted."""

    team: str
    channel: str
    ts: str
    shown: str | None
    wanted: str


class TierWindow:
    """Slack's tier as it is documented: at most `per_minute` calls in any minute (a rolling
    window, bursts welcome). Knows how long until the next call fits."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = 0.0

    def wait(self) -> float:
        """Seconds until a call fits (0: make it now, after `take`)."""
        now = self._clock()
        while self._sent and self._sent[0] <= now - WINDOW:
            self._sent.popleft()
        full = self._sent[0] + WINDOW - now if len(self._sent) >= self.per_minute else 0.0
        return max(full, self._paused_until - now, 0.0)

    def take(self) -> None:
        self._sent.append(self._clock())

    def pause(self, seconds: float) -> None:
        """Slack said 429: no call for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)


class Reactions:
    """Marks follow-ups' messages, one lane per workspace. `since`: when this process began, on
    the store's clock (a run created earlier may carry marks this process did not make)."""

    def __init__(
        self,
        clients: TeamClients,
        *,
        since: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        patience: float = 60.0,
    ) -> None:
        self.clients = clients
        self.since = time.time() if since is None else since
        self._clock = clock
        self._sleep = sleep
        self.patience = patience
        self._messages: OrderedDict[tuple[str, str, str], Marked] = OrderedDict()
        self._pending: dict[str, OrderedDict[tuple[str, str, str], None]] = {}
        self._windows: dict[tuple[str, str], TierWindow] = {}
        self._lanes: dict[str, asyncio.Task[None]] = {}

    def mark(self, run: Run, mark: Mark) -> None:
        """Want `mark`'s reaction on the run's trigger message; sent by the workspace's lane."""
        if run.trigger_ts is None:
            return
        key = (run.team_id, run.channel_id, run.trigger_ts)
        before, wanted = REACTIONS[mark]
        known = self._messages.pop(key, None)
        if known is None:
            ours = before if run.created_at < self.since or mark != "started" else None
            known = Marked(run.team_id, run.channel_id, run.trigger_ts, ours, wanted)
        known.wanted = wanted
        self._messages[key] = known
        while len(self._messages) > MAX_REMEMBERED:
            self._messages.popitem(last=False)
        self._pending.setdefault(run.team_id, OrderedDict())[key] = None
        lane = self._lanes.get(run.team_id)
        if lane is None or lane.done():
            self._lanes[run.team_id] = asyncio.create_task(self._lane(run.team_id))

    def forget_workspace(self, team_id: str) -> None:
        self._pending.pop(team_id, None)
        lane = self._lanes.pop(team_id, None)
        if lane is not None:
            lane.cancel()

    async def aclose(self) -> None:
        """Stop the lanes; marks not sent yet are dropped (they are cosmetic)."""
        lanes = list(self._lanes.values())
        self._lanes.clear()
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)

    async def _lane(self, team: str) -> None:
        pending = self._pending.get(team)
        while pending:
            key, _ = pending.popitem(last=False)
            message = self._messages.get(key)
            if message is None:
                continue
            try:
                await self._settle(message)
            except Exception:
                log.warning("could not mark %s in %s", message.ts, message.channel, exc_info=True)

    async def _settle(self, message: Marked) -> None:
        """Send what makes the message show its wanted reaction, re-reading it after each wait
        (a newer mark may have replaced the wanted one meanwhile)."""
        while message.shown != message.wanted:
            if message.shown is not None:
                if not await self._call(message, "remove", message.shown):
                    return
                message.shown = None
            else:
                wanted = message.wanted
                if not await self._call(message, "add", wanted):
                    return
                message.shown = wanted

    async def _call(self, message: Marked, action: str, name: str) -> bool:
        """One paced call; False when Slack refused it for good (the message stays as it is)."""
        window = self._window(message.team, action)
        patience = Patience(self.patience, sleep=self._sleep)
        while True:
            while (delay := window.wait()) > 0:
                await self._sleep(delay)
            window.take()
            client = await self.clients.edit_client_for(message.team)
            target = {"channel": message.channel, "timestamp": message.ts, "name": name}
            try:
                if action == "add":
                    await client.reactions_add(**target)
                else:
                    await client.reactions_remove(**target)
                return True
            except SlackApiError as error:
                wait = retry_after(error)
                code = code_of(error)
                if wait is not None:
                    log.info("reactions.%s: 429; pausing it %.1f s", action, wait)
                    window.pause(wait)
                elif code in FINE:
                    return True
                elif is_transient(error):
                    await patience.pause(f"reactions.{action}", error)
                else:
                    why = explain(error, message.channel) or code
                    where = message.channel
                    log.warning("cannot mark %s with :%s: in %s: %s", message.ts, name, where, why)
                    return False
            except Exception as error:
                if not is_transient(error):
                    raise
                await patience.pause(f"reactions.{action}", error)

    def _window(self, team: str, action: str) -> TierWindow:
        window = self._windows.get((team, action))
        if window is None:
            window = self._windows[(team, action)] = TierWindow(TIERS[action], self._clock)
        return window
