"""Slack's allowances counted across every process on one database (see `store/rates.py`).

Slack limits `chat.update` per workspace and `chat.postMessage` per channel, not per process:
two replicas each pacing themselves to 45 edits a minute would together make 90. Each call
therefore first takes its place in the shared window of its scope; the local pacing
(`EditLane`, `ChannelPacer`) still orders a process's own calls (finals first).
"""

from __future__ import annotations

from typing import Protocol

from .edit_lane import EditPolicy
from .edit_scheduler import Gate

POSTS_PER_WINDOW = 2
POST_WINDOW = 2.0
"""About one post a second per channel, in pairs: inside Slack's bucket of ~3 with a post to
spare for calls that arrive closer together than they were sent."""


class RateStore(Protocol):
    async def take_call(
        self,
        scope: str,
        owner: str,
        *,
        limit: int,
        window: float,
        final: bool = True,
        reserve: int = 0,
        reserve_cap: int = 0,
    ) -> float: ...


class SharedRates:
    """One process's view of the shared allowances; `owner` names the process."""

    def __init__(self, store: RateStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    def edits(self, method: str, policy: EditPolicy) -> Gate:
        """The gate of an `EditScheduler` whose calls to `method` follow `policy`."""

        async def take(workspace: str, final: bool, reserve: int) -> float:
            return await self.store.take_call(
                f"{method}:{workspace}",
                self.owner,
                limit=int(policy.per_minute),
                window=policy.window,
                final=final,
                reserve=reserve,
                reserve_cap=int(policy.per_minute * policy.final_share),
            )

        return take

    async def start_stream(self, team: str, per_minute: float) -> float:
        """Take a `chat.startStream` call in a workspace; 0.0, or seconds until there is room."""
        return await self.store.take_call(
            f"chat.startStream:{team}", self.owner, limit=int(per_minute), window=60.0
        )

    async def post(self, team: str, channel: str) -> float:
        """Take a `chat.postMessage` call in a channel; 0.0, or seconds until there is room."""
        return await self.store.take_call(
            f"chat.postMessage:{team}:{channel}",
            self.owner,
            limit=POSTS_PER_WINDOW,
            window=POST_WINDOW,
        )
