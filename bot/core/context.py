"""What every turn of a run needs, built once by the runner: the store, Handinger, the surface
users see, and the timings of the relay."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ..handinger.client import HandingerClient
from ..store import Store
from .digests import Digests
from .files import FileDelivery
from .gathered import ReplyMode
from .ports import RunSurface


@dataclass(frozen=True, slots=True)
class RunnerPolicy:
    """Timings of the relay. Defaults suit real Slack; tests shorten them."""

    tick: float = 5.0
    """How often the status line refreshes (elapsed time) when the stream is quiet."""
    resubscribes: int = 3
    """How many times a turn that is still running after its stream ended is re-subscribed."""
    poll_initial: float = 1.0
    poll_max: float = 30.0
    busy_retries: int = 20
    """How many times a continue waits for a worker busy with someone else's turn."""
    heal_initial: float = 15.0
    heal_max: float = 600.0
    heal_for: float = 86400.0
    """How a final message that could not be shown is tried again: waits from `heal_initial`
    doubling up to `heal_max` seconds, for `heal_for` seconds in all."""


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What every turn needs; built once by the runner."""

    store: Store
    handinger: HandingerClient
    surface: RunSurface
    files: FileDelivery | None
    policy: RunnerPolicy
    clock: Callable[[], float]
    sleep: Callable[[float], Coroutine[Any, Any, None]]
    digests: Digests | None = None
    schedules_changed: Callable[[], None] | None = None
    reply_mode: ReplyMode = "auto"
    """Who a worker answers in its thread unless someone switched it (`HANDINGER_REPLY_MODE`)."""
