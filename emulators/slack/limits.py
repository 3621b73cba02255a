"""Slack's per-method rate limits as token buckets, measured in emulated time.

Each limit allows `burst` calls at once and refills at `per_minute` calls per emulated minute.
Limits are keyed per workspace and method (and per channel for the special ones), exactly how
Slack documents them. A call is admitted only if every limit that applies has a token; a refused
call consumes nothing, and the caller gets the emulated seconds until a token is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .clock import Clock

Scope = Literal["workspace", "channel"]


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: float
    scope: Scope = "workspace"

    def describe(self) -> dict[str, object]:
        return {"per_minute": self.per_minute, "burst": self.burst, "scope": self.scope}


TIER_1 = Limit(1, 1)
TIER_2 = Limit(20, 20)
TIER_3 = Limit(50, 50)
TIER_4 = Limit(100, 100)
POST_PER_CHANNEL = Limit(60, 3, "channel")  # "one message per second per channel", small bursts
POST_PER_WORKSPACE = Limit(300, 60)  # "several hundred messages per minute" workspace-wide
STATUS_PER_CHANNEL = Limit(
    60, 3, "channel"
)  # assistant.threads.setStatus: like postMessage, per DM
AUTH_TEST = Limit(600, 100)

#: Every limited method. Methods not listed (and `/_emulator/`, uploads) are never limited.
DEFAULT_LIMITS: dict[str, tuple[Limit, ...]] = {
    "auth.test": (AUTH_TEST,),
    "apps.connections.open": (TIER_3,),  # docs.slack.dev says Tier 3; older pages say Tier 1
    "chat.postMessage": (POST_PER_CHANNEL, POST_PER_WORKSPACE),
    "chat.update": (TIER_3,),
    "chat.delete": (TIER_3,),
    "chat.postEphemeral": (TIER_4,),
    "chat.getPermalink": (TIER_4,),  # "special"; generous in practice
    "chat.startStream": (TIER_2,),
    "chat.appendStream": (TIER_4,),
    "chat.stopStream": (TIER_2,),
    "assistant.threads.setStatus": (STATUS_PER_CHANNEL,),
    "assistant.threads.setSuggestedPrompts": (TIER_2,),  # docs.slack.dev: Tier 2
    "assistant.threads.setTitle": (TIER_2,),  # docs.slack.dev: Tier 2
    "reactions.add": (TIER_3,),
    "reactions.remove": (TIER_2,),
    "conversations.info": (TIER_3,),
    "conversations.join": (TIER_3,),
    "conversations.members": (TIER_4,),
    "conversations.replies": (TIER_3,),
    "conversations.history": (TIER_3,),
    "conversations.open": (TIER_3,),
    "users.info": (TIER_4,),
    "files.getUploadURLExternal": (TIER_4,),
    "files.completeUploadExternal": (TIER_4,),
    "files.info": (TIER_4,),
    "views.open": (TIER_4,),
    "views.update": (TIER_4,),
    "views.push": (TIER_4,),
    "views.publish": (TIER_4,),
}


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by (method, workspace[, channel]); `mode="off"` admits everything."""

    def __init__(self, clock: Clock, mode: str = "strict") -> None:
        self.clock = clock
        self.mode = mode
        self.limits: dict[str, tuple[Limit, ...]] = dict(DEFAULT_LIMITS)
        self._buckets: dict[tuple[str, str, str, int], _Bucket] = {}

    def reset(self) -> None:
        self._buckets.clear()
        self.limits = dict(DEFAULT_LIMITS)

    def refill(self) -> None:
        """Forget past calls: every bucket starts full again."""
        self._buckets.clear()

    def override(self, method: str, per_minute: float, burst: float, scope: Scope) -> None:
        """Replace a method's limits (tests use tiny limits to provoke a 429 cheaply)."""
        self.limits[method] = (Limit(per_minute, burst, scope),)
        for key in [k for k in self._buckets if k[0] == method]:
            del self._buckets[key]

    def check(self, method: str, team: str, channel: str | None = None) -> float | None:
        """Admit one call (returns None) or return emulated seconds until it would be admitted."""
        if self.mode == "off":
            return None
        limits = self.limits.get(method)
        if not limits:
            return None
        now = self.clock.now()
        buckets: list[_Bucket] = []
        wait = 0.0
        for index, limit in enumerate(limits):
            place = (channel or "") if limit.scope == "channel" else ""
            key = (method, team, place, index)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(limit.burst, now)
            rate = limit.per_minute / 60.0
            bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens < 1.0:
                wait = max(wait, (1.0 - bucket.tokens) / rate)
            buckets.append(bucket)
        if wait > 0:
            return wait
        for bucket in buckets:
            bucket.tokens -= 1.0
        return None

    def describe(self) -> dict[str, list[dict[str, object]]]:
        return {
            method: [limit.describe() for limit in limits] for method, limits in self.limits.items()
        }

    def levels(self) -> list[dict[str, object]]:
        """Every bucket used so far, refilled to now without taking a token: how close each
        method (per workspace, per channel for the special ones) is to a 429."""
        now = self.clock.now()
        out: list[dict[str, object]] = []
        for (method, team, place, index), bucket in self._buckets.items():
            limits = self.limits.get(method, ())
            if index >= len(limits):
                continue
            limit = limits[index]
            refilled = bucket.tokens + (now - bucket.updated) * limit.per_minute / 60
            tokens = min(limit.burst, refilled)
            out.append(
                {
                    "method": method,
                    "team": team,
                    "channel": place or None,
                    "tokens": round(tokens, 2),
                    **limit.describe(),
                }
            )
        return out
