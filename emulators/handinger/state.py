"""In-memory state of the Handinger emulator: config, clock, workers, turns, schedules, faults.

Everything lives in one process and one event loop, so plain objects are enough; the only
synchronisation is a Condition per turn that wakes SSE subscribers when a chunk is appended.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..credentials import HANDINGER_KEY
from .holds import HeldRequest, release

if TYPE_CHECKING:
    from .idempotency import Remembered

BUDGETS = ("low", "standard", "high", "unlimited")
STREAM_FORMATS = ("worker", "ai-sdk", "responses")
IDLE_STREAM_MODES = ("replay", "204")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A 26-character Crockford base32 ULID, the id style of the real API's examples."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def iso_ms(unix: float) -> str:
    """ISO-8601 with milliseconds and `Z`, the format of `nextRunAt` in the reference."""
    moment = datetime.fromtimestamp(unix, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Config:
    """Runtime knobs; everything but host, port and key can be changed via /_emulator/config."""

    host: str = "127.0.0.1"
    port: int = 8787
    api_key: str = HANDINGER_KEY
    stream_format: str = "ai-sdk"
    done_sentinel: bool = False
    turn_seconds: float = 1.0
    chunks: int = 40
    time_scale: float = 1.0
    blocking: bool = False
    idle_stream: str = "replay"
    idempotency_keys: bool = True

    MUTABLE = (
        "stream_format",
        "done_sentinel",
        "turn_seconds",
        "chunks",
        "time_scale",
        "blocking",
        "idle_stream",
        "idempotency_keys",
    )

    def public(self) -> dict[str, Any]:
        """The config as JSON, without the API key (never echoed anywhere)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in self.MUTABLE}

    def copy(self) -> Config:
        return replace(self)


class Clock:
    """Emulated wall clock: `t0 + real_elapsed * time_scale + advanced`, for schedules only."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self.reset(time_scale)

    def reset(self, time_scale: float) -> None:
        self._t0 = time.time()
        self._m0 = time.monotonic()
        self._scale = time_scale
        self._advanced = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return self._t0 + (time.monotonic() - self._m0) * self._scale + self._advanced

    def advance(self, seconds: float) -> None:
        self._advanced += seconds

    def set_scale(self, scale: float) -> None:
        """Rebase so that changing the speed never makes the clock jump."""
        current = self.now()
        self._t0, self._m0, self._advanced, self._scale = current, time.monotonic(), 0.0, scale

    def real_seconds_until(self, unix: float) -> float:
        return max(0.0, (unix - self.now()) / self._scale)


@dataclass
class Event:
    """One neutral agent event; `streams.py` renders it in the configured wire format.

    The counters freeze how much of the worker existed when the event happened, so a
    `worker`-format snapshot rendered later (replay, slow reader) still shows that moment.
    `time` is when it happened: Unix seconds (`time.time()`), stamped just before it is appended
    to the turn, so no stream can send it earlier.
    """

    kind: str
    data: dict[str, Any]
    text_len: int = 0
    n_sources: int = 0
    n_files: int = 0
    n_messages: int = 0
    time: float = 0.0


@dataclass
class PublishedFile:
    """A file in the worker's workspace; bytes are generated on demand from these fields."""

    path: str
    media_type: str
    url: str
    version: int | None = None
    size: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"filename": self.path, "mediaType": self.media_type, "url": self.url}


@dataclass
class Turn:
    """One instruction and the scripted answer to it."""

    number: int
    input: str
    budget: str
    user_message_id: str
    message_id: str
    prev_usage: dict[str, Any] | None
    prev_costs: dict[str, Any] | None
    events: list[Event] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    done: bool = False
    error: str | None = None
    final_snapshot: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = None
    cond: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def append(self, event: Event) -> None:
        async with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    async def finish(self) -> None:
        async with self.cond:
            self.done = True
            self.cond.notify_all()

    async def wait_done(self) -> None:
        async with self.cond:
            await self.cond.wait_for(lambda: self.done)

    async def wait_beyond(self, index: int) -> None:
        """Return once there is an event at `index` or the turn is over."""
        async with self.cond:
            await self.cond.wait_for(lambda: len(self.events) > index or self.done)


@dataclass
class Schedule:
    """A stored schedule; `next_run` is emulated unix seconds."""

    id: str
    type: str
    input: str
    budget: str
    next_run: float
    delay_in_seconds: int | None = None
    cron: str | None = None
    interval_seconds: int | None = None


@dataclass
class Worker:
    id: str
    created_at: int
    turns: list[Turn] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, PublishedFile] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    costs: dict[str, Any] | None = None

    @property
    def live_turn(self) -> Turn | None:
        if self.turns and not self.turns[-1].done:
            return self.turns[-1]
        return None

    @property
    def busy(self) -> bool:
        return self.live_turn is not None

    @property
    def email(self) -> str:
        return f"w-{self.id[-12:].lower()}@inbound.handinger.test"


@dataclass
class Gauge:
    """How many of something are open now, the most that were open at once, and how many were
    opened. A holder closes the gauge it opened, so after a reset (a new Gauge) the streams of
    forgotten turns, which close a moment later, no longer count."""

    open: int = 0
    peak: int = 0
    total: int = 0

    def opened(self) -> None:
        self.open += 1
        self.total += 1
        self.peak = max(self.peak, self.open)

    def closed(self) -> None:
        self.open -= 1


@dataclass
class Fault:
    """A pending HTTP fault from POST /_emulator/faults: an error response, a closed connection,
    or (`hold`) the request performed with its response held until released."""

    status: int
    count: int
    retry_after: str | None
    method: str | None
    path: str | None
    error: str
    action: str
    after: int = 0
    """Matching requests to let through before this fault acts (it fails the Nth + 1)."""
    location: str | None = None
    """Where a `redirect` fault sends the request (a 302)."""


@dataclass
class StreamFault:
    """A pending SSE fault: cut the connection, stall, or write raw bytes after N data events;
    `after` SSE responses are left alone first."""

    count: int
    cut_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0
    inject_after: int | None = None
    inject: str = ""
    after: int = 0


@dataclass
class ScriptedAnswer:
    """A verbatim answer for the next `count` turns whose instruction contains `match`, so
    tests can make the worker say anything (hostile output) from `POST /_emulator/answers`."""

    text: str
    sources: list[dict[str, str]] | None = None
    match: str = ""
    count: int = 1


@dataclass
class Emulator:
    """The whole emulator state; one instance per process (tests reset it over HTTP)."""

    cli_config: Config
    config: Config = field(init=False)
    clock: Clock = field(init=False)
    workers: dict[str, Worker] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    stream_faults: list[StreamFault] = field(default_factory=list)
    answers: list[ScriptedAnswer] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    held: list[HeldRequest] = field(default_factory=list)
    idempotency: dict[str, Remembered] = field(default_factory=dict)
    streams: Gauge = field(default_factory=Gauge)
    on_turn_end: Callable[[], None] = lambda: None
    on_schedules_changed: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        self.config = self.cli_config.copy()
        self.clock = Clock(self.config.time_scale)

    @property
    def base_url(self) -> str:
        return f"http://{_url_host(self.config.host)}:{self.config.port}"

    @property
    def foreign_base_url(self) -> str:
        """Same server, different origin: swap 127.0.0.1 and localhost."""
        other = "127.0.0.1" if self.config.host == "localhost" else "localhost"
        return f"http://{other}:{self.config.port}"

    def take_stream_fault(self) -> StreamFault | None:
        if not self.stream_faults:
            return None
        fault = self.stream_faults[0]
        if fault.after > 0:
            fault.after -= 1
            return None
        fault.count -= 1
        if fault.count <= 0:
            self.stream_faults.pop(0)
        return fault

    def take_answer(self, instruction: str) -> ScriptedAnswer | None:
        """The scripted answer for a turn on `instruction`, if one was queued for it."""
        for answer in self.answers:
            if answer.match in instruction:
                answer.count -= 1
                if answer.count <= 0:
                    self.answers.remove(answer)
                return answer
        return None

    async def reset(self) -> None:
        """Forget everything; running turns are cancelled and their streams closed."""
        for worker in self.workers.values():
            for turn in worker.turns:
                if turn.task is not None and not turn.task.done():
                    turn.task.cancel()
                await turn.finish()
        self.workers.clear()
        self.faults.clear()
        self.stream_faults.clear()
        self.answers.clear()
        self.requests.clear()
        release(self.held)
        self.idempotency.clear()
        self.streams = Gauge()
        port = self.config.port
        self.config = self.cli_config.copy()
        self.config.port = port
        self.clock.reset(self.config.time_scale)
        self.on_schedules_changed()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
