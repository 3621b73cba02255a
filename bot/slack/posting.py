"""Posting messages (`chat.postMessage`): paced per channel, through 429s and Slack's passing
failures, and never twice.

A 429 is a clean refusal: the post waits (the channel's pacer is pushed back, and with shared
`rates` the channel pauses for every process) and is sent again.
A 5xx or a dropped connection is not: Slack may have posted the message before failing. So the
clients never repeat a post by themselves (`clients.NOT_REPEATED`), and a post that carries a
`Marker` is first looked for in its thread or channel after such a failure, and the message
found is taken over instead of posting a second one. An unmarked post is sent again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from ..core.ports import NotShown
from ..store import Run
from .blocks import SlackMessage
from .clients import TeamClients
from .pacing import ChannelPacer
from .run_refs import Marker, find_marked
from .shared_rates import SharedRates
from .transient import Patience, Sleep, is_transient

log = logging.getLogger(__name__)


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait, when the error is a 429."""
    if error.response is None or error.response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else 1.0
    except ValueError:
        return 1.0


class Poster:
    """Posts into runs' channels with each workspace's own token.

    `max_attempts`: 429s a post may get before it fails. `patience`: seconds of waiting through
    Slack's passing failures per post before `NotShown`.
    """

    def __init__(
        self,
        clients: TeamClients,
        pacer: ChannelPacer,
        *,
        max_attempts: int = 30,
        patience: float = 120.0,
        sleep: Sleep = asyncio.sleep,
        rates: SharedRates | None = None,
    ) -> None:
        self.clients = clients
        self.pacer = pacer
        self.rates = rates
        self.max_attempts = max_attempts
        self.patience = patience
        self._sleep = sleep

    async def post(
        self,
        run: Run,
        message: SlackMessage,
        thread_ts: str | None,
        marker: Marker | None = None,
    ) -> str:
        """Post `message` in the run's channel (in thread `thread_ts` if given); its `ts`."""
        args: dict[str, Any] = {
            "channel": run.channel_id,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        if marker is not None:
            args["metadata"] = marker.metadata()
        patience = Patience(self.patience, sleep=self._sleep)
        limited = 0
        while True:
            await self.pacer.wait(run.team_id, run.channel_id)
            client = await self.clients.edit_client_for(run.team_id)
            try:
                response = await client.chat_postMessage(**args)
            except Exception as error:
                wait = retry_after(error) if isinstance(error, SlackApiError) else None
                if wait is not None:
                    self.pacer.penalize(run.team_id, run.channel_id, wait)
                    await self._pause_everywhere(run, wait)
                    limited += 1
                    if limited >= self.max_attempts:
                        raise
                    log.info(
                        "chat.postMessage in %s rate limited; waiting %.0f s", run.channel_id, wait
                    )
                    continue
                if not is_transient(error):
                    raise
                found = await self._after_doubt(run, thread_ts, marker, patience, error)
                if found is not None:
                    return found
                continue
            return str(response["ts"])

    async def _pause_everywhere(self, run: Run, seconds: float) -> None:
        """The channel's other posters, in every process, wait out the 429 too; if the
        database cannot be told, they find out from Slack."""
        if self.rates is None:
            return
        try:
            await self.rates.paused("chat.postMessage", run.team_id, run.channel_id, seconds)
        except Exception as exc:
            log.warning("other processes not told of the rate limit in %s: %s", run.channel_id, exc)

    async def _after_doubt(
        self,
        run: Run,
        thread_ts: str | None,
        marker: Marker | None,
        patience: Patience,
        error: Exception,
    ) -> str | None:
        """After a failure that may have posted: wait, then the `ts` of the marked message if
        Slack did post it (None: post again). `NotShown` once patience is spent and it was not
        posted."""
        gave_up: NotShown | None = None
        try:
            await patience.pause(f"chat.postMessage in {run.channel_id}", error)
        except NotShown as exc:
            gave_up = exc
        if marker is not None:
            client = await self.clients.client_for(run.team_id)
            found = await find_marked(client, run, thread_ts, marker)
            if found is not None:
                log.info(
                    "run %d: Slack posted its message despite the failure; taking it over", run.id
                )
                return found
        if gave_up is not None:
            raise gave_up
        return None
