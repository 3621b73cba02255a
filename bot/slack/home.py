"""The App Home tab: a user's recent workers, the schedules they made (with Cancel), a how-to.

Published when the user opens it (`app_home_opened`) and again when one of their runs
finishes. `views.publish` is Tier 4 (100 a minute per workspace), so refreshes after runs are
coalesced per user across every process on the database: at most one every `min_interval`
seconds (a shared allowance, `store/rates.py`), and a refresh is dropped only when another
process's publish began after the run finished, so the last state is always shown. A message's
permalink never changes: it is fetched once and kept on the run, for every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError

from ..core.answers import Home
from ..store import Run
from ..store.rates import CallTerms
from .blocks import SECTION_LIMIT, context, section
from .clients import NotInstalled, TeamClients
from .mrkdwn import escape, plain_excerpt, truncate_mrkdwn
from .replies import STATE_LABELS
from .schedule_views import _when

log = logging.getLogger(__name__)

HOME_CANCEL = "home_cancel_schedule"
"""The `action_id` of a schedule's Cancel button on the App Home; its value is the schedule id."""
HOW_TO = (
    "*How to use Handinger*\n"
    "• Open the assistant pane (the Handinger icon at the top right) and say what you need, "
    "or send me a direct message.\n"
    "• In a channel: `/handinger <instruction>` posts a card everyone can see; mention "
    "@Handinger to get the answer in a thread.\n"
    "• Reply in the thread to continue the same worker.\n"
    "• `/handinger schedule every 1d <instruction>` repeats an instruction; `/handinger help` "
    "lists the options."
)

Links = dict[int, str]
"""A run id → the permalink of its message."""


def _run_line(run: Run, links: Links, feedback: dict[str, tuple[int, int]]) -> str:
    label = STATE_LABELS.get(run.status, escape(run.status))
    when = _when(run.created_at)
    excerpt = plain_excerpt(run.input, 100)
    line = f"{label} · {when} · “{excerpt}”"
    if run.id in links:
        line += f" · <{links[run.id]}|thread>"
    else:
        line += f" · in <#{run.channel_id}>"
    up, down = feedback.get(run.worker_id or "", (0, 0))
    if up or down:
        line += f" · 👍 {up} 👎 {down}"
    return line


def render_home(home: Home, links: Links) -> dict[str, Any]:
    """The Home tab view (`views.publish`)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Handinger"}},
        section(HOW_TO),
        {"type": "divider"},
        section("*Your recent workers*"),
    ]
    if home.runs:
        lines = "\n".join(_run_line(run, links, home.feedback) for run in home.runs)
        blocks.append(section(truncate_mrkdwn(lines, SECTION_LIMIT)))
    else:
        blocks.append(context("No workers yet: ask me something to start one."))
    blocks += [{"type": "divider"}, section("*Your schedules*")]
    if not home.schedules:
        blocks.append(context("No schedules. `/handinger schedule every 1d …` makes one."))
    for schedule in home.schedules[:20]:
        line = (
            f"*{escape(schedule.description)}* in <#{schedule.channel_id}> · next "
            f"{_when(schedule.next_run_at)}\n“{plain_excerpt(schedule.input, 120)}”"
        )
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate_mrkdwn(line, SECTION_LIMIT)},
                "accessory": {
                    "type": "button",
                    "action_id": HOME_CANCEL,
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "style": "danger",
                    "value": schedule.id,
                },
            }
        )
    return {"type": "home", "blocks": blocks}


HomeOf = Callable[[str, str], Awaitable[Home]]
"""What a user's home shows: (team, user) → `Home` (the service's `home`)."""


class HomeStore(Protocol):
    """The store's parts the publisher uses: the shared allowance and the runs' permalinks."""

    async def take_call(self, scope: str, owner: str, terms: CallTerms) -> float: ...

    async def update_run(self, run_id: int, **changes: Any) -> Run: ...


class HomePublisher:
    """Publishes App Home tabs, at once when opened and coalesced after runs finish."""

    def __init__(
        self,
        clients: TeamClients,
        store: HomeStore,
        owner: str,
        *,
        min_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.clients = clients
        self.store = store
        self.owner = owner
        self.min_interval = min_interval
        self._home_of: HomeOf | None = None
        self._clock = clock
        self._sleep = sleep
        self._pending: dict[tuple[str, str], asyncio.Task[None]] = {}

    def attach(self, home_of: HomeOf) -> None:
        """Where homes come from (the service is built after the surface that calls us)."""
        self._home_of = home_of

    async def publish(self, team_id: str, user_id: str) -> None:
        """Publish the user's home now."""
        if self._home_of is None:
            return
        home = await self._home_of(team_id, user_id)
        client = await self.clients.client_for(team_id)
        links: Links = {}
        for run in home.runs:
            link = run.permalink
            if link is None and run.message_ts is not None:
                with contextlib.suppress(SlackApiError):
                    found = await client.chat_getPermalink(
                        channel=run.channel_id, message_ts=run.message_ts
                    )
                    link = str(found["permalink"])
                    await self.store.update_run(run.id, permalink=link)
            if link is not None:
                links[run.id] = link
        await client.views_publish(user_id=user_id, view=render_home(home, links))

    def run_finished(self, run: Run) -> None:
        """Refresh the requester's home soon (never more often than `min_interval`)."""
        key = (run.team_id, run.user_id)
        if key in self._pending or not run.user_id:
            return
        self._pending[key] = asyncio.create_task(self._later(key, self._clock()))

    async def _later(self, key: tuple[str, str], asked: float) -> None:
        try:
            try:
                due = await self._due(*key, asked)
            finally:
                del self._pending[key]  # from here a run that finishes needs a publish of its own
            if due:
                await self.publish(*key)
        except NotInstalled:  # the workspace left while the refresh waited: nothing to show
            log.info("home of %s not refreshed: the app left workspace %s", key[1], key[0])
        except Exception:
            log.warning("home of %s not refreshed", key[1], exc_info=True)

    async def _due(self, team_id: str, user_id: str, asked: float) -> bool:
        """Wait until the shared allowance has room for a publish (True), unless another
        process's publish began after `asked` (False: the run had finished, so it shows it)."""
        while True:
            before = self._clock()
            wait = await self.store.take_call(
                f"views.publish:{team_id}:{user_id}",
                self.owner,
                CallTerms(limit=1, window=self.min_interval),
            )
            if wait <= 0:
                return True
            if before + wait - self.min_interval > asked:  # when the last publish began
                return False
            await self._sleep(wait)
