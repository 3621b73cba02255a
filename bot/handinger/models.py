"""Pydantic models of the Handinger workers API.

The wire mixes styles (`output_text` next to `mediaType`), so each model says how its own fields
are spelled; Python always uses snake_case. Every model ignores unknown fields and treats the
fields the facts sheet lists as optional or nullable as such, so a server that adds or omits a
field does not break the bot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_serializer,
)
from pydantic.alias_generators import to_camel

MAX_SCHEDULE_SECONDS = 31_536_000
"""The API accepts delays and intervals from 1 second up to one year."""


class _Wire(BaseModel):
    """Field names as written in Python are also the names on the wire."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _CamelWire(BaseModel):
    """snake_case in Python, camelCase on the wire."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_camel, serialize_by_alias=True
    )


class OutputContent(_Wire):
    type: str = "output_text"
    text: str = ""


class OutputItem(_Wire):
    id: str = ""
    type: str = "message"
    role: str = "assistant"
    status: str = "completed"
    content: list[OutputContent] = Field(default_factory=list)


class Source(_Wire):
    id: str = ""
    type: str = "url"
    url: str
    title: str | None = None


class WorkerFile(_CamelWire):
    """A file the worker published. `url` may be absolute or relative to the API base."""

    filename: str | None = None
    media_type: str = "application/octet-stream"
    url: str


class Usage(_CamelWire):
    """Token, step and credit counts of the latest turn. Any field may be missing."""

    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    steps: int | None = None
    total_tokens: int | None = None
    credits: float | None = None
    duration_ms: int | None = None


class Costs(_CamelWire):
    internal_cost_usd: float | None = None
    model_cost_usd: float | None = None
    sandbox_cost_usd: float | None = None
    tool_cost_usd: float | None = None

    @property
    def total_usd(self) -> float | None:
        parts = [
            self.internal_cost_usd,
            self.model_cost_usd,
            self.sandbox_cost_usd,
            self.tool_cost_usd,
        ]
        known = [p for p in parts if p is not None]
        return sum(known) if known else None


class Worker(_Wire):
    """A remote agent worker and the state of its latest turn."""

    id: str
    object: str = "worker"
    created_at: float | None = None
    status: str = "pending"
    running: bool = False
    output: list[OutputItem] = Field(default_factory=list)
    output_text: str = ""
    sources: list[Source] = Field(default_factory=list)
    files: list[WorkerFile] = Field(default_factory=list)
    messages: list[Any] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None
    error: Any = None
    incomplete_details: Any = None
    costs: Costs | None = None
    usage: Usage | None = None

    @property
    def is_running(self) -> bool:
        """True while a turn is in progress (or queued to start)."""
        return self.running or self.status in ("running", "pending")

    @property
    def error_message(self) -> str | None:
        """The worker's error as one line of text, whatever shape the server used."""
        if self.error is None or self.error == {} or self.error == "":
            return None
        if isinstance(self.error, str):
            return self.error
        if isinstance(self.error, dict):
            for key in ("message", "error", "detail", "errorText"):
                value = self.error.get(key)
                if isinstance(value, str) and value:
                    return value
        return str(self.error)

    @property
    def text(self) -> str:
        """The latest answer: `output_text`, or the joined `output` items when that is empty."""
        if self.output_text:
            return self.output_text
        return "".join(c.text for item in self.output for c in item.content)


# ---- schedules ----------------------------------------------------------------------------


class _ScheduleBase(_CamelWire):
    id: str
    input: str = ""
    budget: str = "standard"
    next_run_at: datetime | None = None


class ScheduledSchedule(_ScheduleBase):
    type: Literal["scheduled"] = "scheduled"


class DelayedSchedule(_ScheduleBase):
    type: Literal["delayed"] = "delayed"
    delay_in_seconds: int | None = None


class CronSchedule(_ScheduleBase):
    type: Literal["cron"] = "cron"
    cron: str = ""


class IntervalSchedule(_ScheduleBase):
    type: Literal["interval"] = "interval"
    interval_seconds: int | None = None


class UnknownSchedule(_ScheduleBase):
    """A schedule type this client does not know yet; kept so listing never fails."""

    type: str = "unknown"


_SCHEDULE_TYPES = ("scheduled", "delayed", "cron", "interval")


def _schedule_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _SCHEDULE_TYPES else "unknown"


WorkerSchedule = Annotated[
    Annotated[ScheduledSchedule, Tag("scheduled")]
    | Annotated[DelayedSchedule, Tag("delayed")]
    | Annotated[CronSchedule, Tag("cron")]
    | Annotated[IntervalSchedule, Tag("interval")]
    | Annotated[UnknownSchedule, Tag("unknown")],
    Discriminator(_schedule_tag),
]
SCHEDULE_ADAPTER: TypeAdapter[WorkerSchedule] = TypeAdapter(WorkerSchedule)


class ScheduleList(_CamelWire):
    schedules: list[WorkerSchedule] = Field(default_factory=list)
    worker_id: str | None = None


# ---- `when`: the request side of a schedule -----------------------------------------------


class _When(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, alias_generator=to_camel, serialize_by_alias=True
    )


class ScheduledWhen(_When):
    """Run once at `date` (a timezone-aware moment; naive datetimes are taken as UTC)."""

    type: Literal["scheduled"] = "scheduled"
    date: datetime

    @field_serializer("date")
    def _iso_utc(self, value: datetime) -> str:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DelayedWhen(_When):
    """Run once, this many seconds from now."""

    type: Literal["delayed"] = "delayed"
    delay_in_seconds: int = Field(ge=1, le=MAX_SCHEDULE_SECONDS)


class CronWhen(_When):
    """Run on a 5-field cron expression, evaluated in UTC by the server."""

    type: Literal["cron"] = "cron"
    cron: str = Field(min_length=1)


class IntervalWhen(_When):
    """Run every `interval_seconds`, first one interval from now."""

    type: Literal["interval"] = "interval"
    interval_seconds: int = Field(ge=1, le=MAX_SCHEDULE_SECONDS)


When = ScheduledWhen | DelayedWhen | CronWhen | IntervalWhen

WHEN_ADAPTER: TypeAdapter[When] = TypeAdapter(Annotated[When, Field(discriminator="type")])
