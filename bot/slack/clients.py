"""Slack Web API clients per workspace, for every call made outside a Bolt listener.

Background work (runs, edits, digests, file uploads) must speak to each workspace with that
workspace's own bot token. `TeamClients` hands out two clients per team: `client_for` waits
out 429s itself; `edit_client_for` does not, because the edit scheduler and the channel pacer
own the pacing of `chat.update` and `chat.postMessage`. Both repeat a call twice, quickly, when
Slack answers 5xx or the connection drops (`transient_handlers`), except a post, which Slack may
have made before failing (`posting.py` looks for it before posting again); `transient.Patience`
keeps trying longer where it matters. Where the token comes from is a
`TokenSource`: the one `SLACK_BOT_TOKEN` in single-workspace mode, the OAuth installation
store in multi-workspace mode. Clients are cached per team and re-checked against the source
every `ttl` seconds, so a reinstall (new token) is picked up; an uninstall calls `forget`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.ports import Undeliverable

log = logging.getLogger(__name__)


class NotInstalled(Undeliverable):
    """The app has no bot token for this workspace (never installed, or uninstalled)."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"the app is not installed in workspace {team_id}")
        self.team_id = team_id


NOT_REPEATED = frozenset({"chat.postMessage"})
"""Calls never repeated blindly after a 5xx or a dropped connection: Slack may have acted on
them, and a second one would post the message twice."""


def repeatable(request: HttpRequest) -> bool:
    method = urlparse(request.url).path.rstrip("/").rsplit("/", 1)[-1]
    return method not in NOT_REPEATED


class ServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """Repeats a call on any 5xx: slack_sdk's own handler stops at 500 and 503, but a 502 or
    504 from Slack's edge passes just the same."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500 and repeatable(request)


class ConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    """Repeats a call whose connection dropped, unless it is `NOT_REPEATED`."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not repeatable(request):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def retry_after(response: HttpResponse) -> float:
    """Seconds Slack asked to wait (`Retry-After`), 1 when it did not say. The header comes as
    a string from aiohttp and as a list from other transports; slack_sdk's own handler takes
    its first character, so `Retry-After: 30` would wait 3 s."""
    for name, value in response.headers.items():
        if name.lower() == "retry-after":
            text = value[0] if isinstance(value, list) else value
            try:
                return max(float(text), 0.0)
            except ValueError:
                return 1.0
    return 1.0


class RateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Repeats a call Slack answered 429, after its whole `Retry-After` (and a little jitter)."""

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("a rate-limit retry without a response")
        state.next_attempt_requested = True
        await asyncio.sleep(retry_after(response) + random.random())
        state.increment_current_attempt()


def transient_handlers() -> list[AsyncRetryHandler]:
    """Two quick repeats (about 0.5 s and 1 s apart) on a dropped connection or a 5xx."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def general_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A client that retries connection errors, 429s (after `Retry-After`) and 5xx itself."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[*transient_handlers(), RateLimitRetryHandler(max_retry_count=5)],
    )


def paced_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A client that leaves 429s to its caller (the edit scheduler, the channel pacer) but
    retries connection errors and 5xx itself."""
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=transient_handlers())


def webhook_client(url: str) -> AsyncWebhookClient:
    """A `response_url` client that retries connection errors, 5xx and 429s (after
    `Retry-After`); slack_sdk's default retries a dropped connection once, and returns a 5xx or
    a 429 as if it were an answer."""
    return AsyncWebhookClient(
        url, retry_handlers=[*transient_handlers(), RateLimitRetryHandler(max_retry_count=3)]
    )


class TokenSource(Protocol):
    async def bot_token(self, team_id: str) -> str | None:
        """The bot token for a workspace, or None when the app is not installed there."""
        ...


class FixedToken:
    """Single-workspace mode: `SLACK_BOT_TOKEN`, whatever the team."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    async def bot_token(self, team_id: str) -> str | None:
        return self.token


class InstalledTokens:
    """OAuth mode: the latest bot installation of the workspace in the installation store."""

    def __init__(self, store: AsyncInstallationStore) -> None:
        self.store = store

    async def bot_token(self, team_id: str) -> str | None:
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot is not None else None


@dataclass(slots=True)
class _Clients:
    token: str
    general: AsyncWebClient
    paced: AsyncWebClient
    checked_at: float


class TeamClients:
    """The Web API clients of each workspace, built from its bot token and cached."""

    def __init__(
        self,
        tokens: TokenSource,
        base_url: str,
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tokens = tokens
        self.base_url = base_url
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, _Clients] = {}

    async def client_for(self, team_id: str) -> AsyncWebClient:
        """The workspace's client that waits out 429s itself. `NotInstalled` if none."""
        return (await self._clients(team_id)).general

    async def edit_client_for(self, team_id: str) -> AsyncWebClient:
        """The workspace's client for paced calls (`chat.update`, `chat.postMessage`)."""
        return (await self._clients(team_id)).paced

    def forget(self, team_id: str | None = None) -> None:
        """Drop the cached clients of a workspace (of every workspace when None)."""
        if team_id is None:
            self._cache.clear()
        else:
            self._cache.pop(team_id, None)

    async def _clients(self, team_id: str) -> _Clients:
        now = self._clock()
        cached = self._cache.get(team_id)
        if cached is not None and now - cached.checked_at < self.ttl:
            return cached
        token = await self.tokens.bot_token(team_id)
        if token is None:
            self._cache.pop(team_id, None)
            raise NotInstalled(team_id)
        if cached is not None and cached.token == token:
            cached.checked_at = now
            return cached
        if cached is not None:
            log.info("workspace %s has a new bot token (reinstalled)", team_id)
        fresh = _Clients(
            token, general_client(token, self.base_url), paced_client(token, self.base_url), now
        )
        self._cache[team_id] = fresh
        return fresh
