"""Slack's per-method rate limits, measured in emulated time.

Slack's tiers ("Tier 3: 50+ per minute, sporadic bursts are welcome"; its limits are evaluated
per minute) are rolling windows: at most `per_minute` calls in any `window` seconds, all at once
if the app likes. That is the documented allowance and no more: a token bucket holding a whole
minute's calls and refilling at the same rate would admit twice the allowance in one minute
(the burst, then the refill), more generous than Slack promises. The special limits that Slack
describes as a rate ("one message per second per channel", short bursts) are token buckets of
`burst` calls refilled at `per_minute`. Limits are keyed per workspace and method (and per
channel for the special ones), exactly how Slack documents them. A call is admitted only if
every limit that applies has room; a refused call consumes nothing, and the caller gets the
emulated seconds until there is room.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from .clock import Clock

Scope = Literal["workspace", "channel"]


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: float
    scope: Scope = "workspace"
    window: float | None = None
    """Emulated seconds: at most `per_minute` calls in any such window (then `burst` is the
    same number). None: a token bucket of `burst`, refilled at `per_minute`."""

    def describe(self) -> dict[str, object]:
        shape = {"window_s": self.window} if self.window is not None else {}
        return {"per_minute": self.per_minute, "burst": self.burst, "scope": self.scope, **shape}


def tier(per_minute: int) -> Limit:
    """A Web API tier: `per_minute` calls in any minute, in bursts as large as that."""
    return Limit(per_minute, per_minute, window=60.0)


TIER_1 = tier(1)
TIER_2 = tier(20)
TIER_3 = tier(50)
TIER_4 = tier(100)
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


Key = tuple[str, str, str, int]


class RateLimiter:
    """Rolling windows and token buckets keyed by (method, workspace[, channel]);
    `mode="off"` admits everything."""

    def __init__(self, clock: Clock, mode: str = "strict") -> None:
        self.clock = clock
        self.mode = mode
        self.limits: dict[str, tuple[Limit, ...]] = dict(DEFAULT_LIMITS)
        self._buckets: dict[Key, _Bucket] = {}
        self._windows: dict[Key, deque[float]] = {}  # times of the admitted calls, oldest first

    def reset(self) -> None:
        self.refill()
        self.limits = dict(DEFAULT_LIMITS)

    def refill(self) -> None:
        """Forget past calls: every bucket starts full again."""
        self._buckets.clear()
        self._windows.clear()

    def override(self, method: str, per_minute: float, burst: float, scope: Scope) -> None:
        """Replace a method's limits by a token bucket (tests use tiny limits to provoke a 429
        cheaply)."""
        self.limits[method] = (Limit(per_minute, burst, scope),)
        for key in [k for k in self._buckets if k[0] == method]:
            del self._buckets[key]
        for key in [k for k in self._windows if k[0] == method]:
            del self._windows[key]

    def check(self, method: str, team: str, channel: str | None = None) -> float | None:
        """Admit one call (returns None) or return emulated seconds until it would be admitted."""
        if self.mode == "off":
            return None
        limits = self.limits.get(method)
        if not limits:
            return None
        now = self.clock.now()
        buckets: list[_Bucket] = []
        windows: list[deque[float]] = []
        wait = 0.0
        for index, limit in enumerate(limits):
            place = (channel or "") if limit.scope == "channel" else ""
            key = (method, team, place, index)
            if limit.window is not None:
                calls = self._recent(key, limit.window, now)
                if len(calls) >= limit.per_minute:  # room again when the oldest call ages out
                    wait = max(wait, calls[-int(limit.per_minute)] + limit.window - now)
                windows.append(calls)
                continue
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
        for calls in windows:
            calls.append(now)
        return None

    def _recent(self, key: Key, window: float, now: float) -> deque[float]:
        """The admitted calls of `key` in the last `window` seconds."""
        calls = self._windows.setdefault(key, deque())
        while calls and calls[0] <= now - window:
            calls.popleft()
        return calls

    def describe(self) -> dict[str, list[dict[str, object]]]:
        return {
            method: [limit.describe() for limit in limits] for method, limits in self.limits.items()
        }

    def levels(self) -> list[dict[str, object]]:
        """Every bucket and window used so far, as of now, without taking a token: how close
        each method (per workspace, per channel for the special ones) is to a 429."""
        now = self.clock.now()
        out: list[dict[str, object]] = []
        levels: list[tuple[Key, float]] = []
        for key, bucket in self._buckets.items():
            limits = self.limits.get(key[0], ())
            if key[3] < len(limits):
                refilled = bucket.tokens + (now - bucket.updated) * limits[key[3]].per_minute / 60
                levels.append((key, min(limits[key[3]].burst, refilled)))
        for key, calls in self._windows.items():
            limits = self.limits.get(key[0], ())
            window = limits[key[3]].window if key[3] < len(limits) else None
            if window is not None:  # room left: the allowance less the calls still in the window
                recent = sum(1 for at in calls if at > now - window)
                levels.append((key, limits[key[3]].per_minute - recent))
        for (method, team, place, index), tokens in levels:
            limit = self.limits[method][index]
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
