"""Slack's allowances counted across every process on one database (see `store/rates.py`).

Slack limits `chat.update` per workspace, `chat.postMessage` per channel and per workspace, and
`assistant.threads.setStatus` per conversation, not per process: two replicas each pacing
themselves to 45 edits a minute would together make 90. Each call therefore first takes its
place in the shared window of its scope; the local pacing (`EditLane`, `ChannelPacer`) still
orders a process's own calls (finals first). A 429 any process gets pauses that scope for all
of them for its `Retry-After`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from ..store.rates import Allowance, CallTerms
from .edit_lane import EditPolicy
from .edit_scheduler import Gate

POSTS_PER_WINDOW = 2
POST_WINDOW = 2.0
"""About one post a second per channel, in pairs: inside Slack's bucket of ~3 with a post to
spare for calls that arrive closer together than they were sent."""
WORKSPACE_POSTS = 50
WORKSPACE_POST_WINDOW = 12.0
"""Posts per workspace, all channels together: Slack allows "several hundred messages per
minute" per workspace without saying how many at once; 50 in any 12 s (250 a minute) never
bursts past 50 in a moment, nor past a bucket of 60 refilled at 300 a minute."""
STATUSES_PER_WINDOW = 2
STATUS_WINDOW = 2.0
"""`assistant.threads.setStatus` per conversation: "similar" to posting (about one a second)."""
STATUS_PATIENCE = 10.0
"""Seconds a status waits for room in its conversation before a newer one replaces it (or,
for the clearing one, before it is left to Slack, which clears it with the answer)."""

Pause = Callable[[str, float], Awaitable[None]]
"""Tells every process that Slack answered 429 in a workspace: `(workspace, Retry-After)`."""


class RateStore(Protocol):
    """The store's shared windows (`store/rates.py`), as this layer uses them."""

    async def take_call(self, scope: str, owner: str, terms: CallTerms) -> float: ...

    async def pause_scope(self, scope: str, seconds: float) -> None: ...


class SharedRates:
    """One process's view of the shared allowances; `owner` names the process."""

    def __init__(self, store: RateStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    def edits(self, method: str, policy: EditPolicy) -> Gate:
        """The gate of an `EditScheduler` whose calls to `method` follow `policy`.

        Progress edits fill whatever room they are given. One process paces them with its
        lane's token bucket (`burst`, refilled at `per_minute`), but N processes have N buckets.
        Only the workspace's window would then hold them back, and it lets more through than
        one bucket, so replicas made more `chat.update` calls per run than one bot. So each
        progress edit first takes a call from a shared window the size of that bucket (`burst`
        calls in `burst` × 60 / `per_minute` seconds), and N processes pace as one.
        """
        pace = Allowance(
            f"{method}:progress", int(policy.burst), policy.burst * 60.0 / policy.per_minute
        )

        async def take(workspace: str, final: bool, reserve: int) -> float:
            if not final:  # progress is paced across processes as one process's bucket paces it
                wait = await self.store.take_call(
                    f"{pace.scope}:{workspace}", self.owner, CallTerms(pace.limit, pace.window)
                )
                if wait > 0:
                    return wait
            return await self.store.take_call(
                f"{method}:{workspace}",
                self.owner,
                CallTerms(
                    limit=int(policy.per_minute),
                    window=policy.window,
                    final=final,
                    reserve=reserve,
                    reserve_cap=int(policy.per_minute * policy.final_share),
                    book=final,  # a final is sent whatever the wait: booked, never asked again
                ),
            )

        return take

    def pause(self, method: str) -> Pause:
        """What an `EditScheduler` of `method` calls on a 429: the workspace pauses for all."""

        async def pause(workspace: str, seconds: float) -> None:
            await self.store.pause_scope(f"{method}:{workspace}", seconds)

        return pause

    async def start_stream(self, team: str, per_minute: float) -> float:
        """Take a `chat.startStream` call in a workspace; 0.0, or seconds until there is room."""
        return await self.store.take_call(
            f"chat.startStream:{team}", self.owner, CallTerms(limit=int(per_minute), window=60.0)
        )

    async def post(self, team: str, channel: str) -> float:
        """Book a `chat.postMessage` call in a channel, which its workspace must have room for
        too: the seconds until the post may be sent (0.0: now). A post is made whatever the
        wait, so it is booked (`CallTerms.book`): one round trip, never asked again."""
        workspace = Allowance(f"chat.postMessage:{team}", WORKSPACE_POSTS, WORKSPACE_POST_WINDOW)
        return await self.store.take_call(
            f"chat.postMessage:{team}:{channel}",
            self.owner,
            CallTerms(POSTS_PER_WINDOW, POST_WINDOW, more=(workspace,), book=True),
        )

    async def status(self, team: str, channel: str) -> float:
        """Take an `assistant.threads.setStatus` call in a conversation; 0.0, or seconds
        until there is room."""
        return await self.store.take_call(
            f"assistant.threads.setStatus:{team}:{channel}",
            self.owner,
            CallTerms(limit=STATUSES_PER_WINDOW, window=STATUS_WINDOW),
        )

    async def room_for_status(
        self,
        team: str,
        channel: str,
        patience: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> bool:
        """Take a status call, waiting up to `patience` seconds for room; False if there was
        none by then (a status is only worth sending while it is current)."""
        waited = 0.0
        while (wait := await self.status(team, channel)) > 0:
            if waited + wait > patience:
                return False
            await sleep(wait)
            waited += wait
        return True

    async def paused(self, method: str, team: str, channel: str | None, seconds: float) -> None:
        """Slack answered a call to `method` with a 429: its scope (the channel's, for the
        per-channel limits) waits `seconds` in every process."""
        where = team if channel is None else f"{team}:{channel}"
        await self.store.pause_scope(f"{method}:{where}", seconds)
