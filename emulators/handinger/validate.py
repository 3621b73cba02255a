"""Request body validation with the reference's status codes.

400 is for a body of the wrong shape (not an object, `input` missing/blank, `when` not an
object, `stream` not a boolean); 422 is for well-formed values the API does not accept (unknown
budget, unknown `when.type`, bad date, out-of-range seconds, invalid cron). Unknown extra fields
are ignored, as a generated API would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from .state import BUDGETS, Schedule, new_ulid

MAX_SECONDS = 31_536_000


class ApiError(Exception):
    """An error response: `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def turn_body(body: Any) -> tuple[str, str, bool]:
    """(input, budget, stream) of a create/continue body."""
    obj = _object(body)
    stream = obj.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise ApiError(400, "`stream` must be a boolean")
    return _input(obj), _budget(obj), bool(stream)


def schedule_body(body: Any, now: float) -> Schedule:
    """A new Schedule from `{input, when, budget?}`, with `next_run` computed from `now`."""
    obj = _object(body)
    text, budget = _input(obj), _budget(obj)
    when = obj.get("when")
    if not isinstance(when, dict):
        raise ApiError(400, "`when` must be an object with a `type`")
    kind = when.get("type")
    schedule = Schedule(f"sch_{new_ulid()}", str(kind), text, budget, now)
    if kind == "scheduled":
        schedule.next_run = _date(when.get("date"))
    elif kind == "delayed":
        schedule.delay_in_seconds = _seconds(when.get("delayInSeconds"), "delayInSeconds")
        schedule.next_run = now + schedule.delay_in_seconds
    elif kind == "interval":
        schedule.interval_seconds = _seconds(when.get("intervalSeconds"), "intervalSeconds")
        schedule.next_run = now + schedule.interval_seconds
    elif kind == "cron":
        schedule.cron = _cron(when.get("cron"))
        schedule.next_run = next_cron(schedule.cron, now)
    else:
        raise ApiError(422, "`when.type` must be one of scheduled, delayed, cron, interval")
    return schedule


def next_cron(expression: str, after: float) -> float:
    """The next UTC occurrence strictly after `after` (unix seconds)."""
    start = datetime.fromtimestamp(after, UTC)
    return float(croniter(expression, start).get_next(float))


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return body


def _input(obj: dict[str, Any]) -> str:
    value = obj.get("input")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "`input` is required and must be a non-empty string")
    return value


def _budget(obj: dict[str, Any]) -> str:
    value = obj.get("budget")
    if value is None:
        return "standard"
    if value not in BUDGETS:
        raise ApiError(422, f"`budget` must be one of {', '.join(BUDGETS)}")
    return str(value)


def _date(value: Any) -> float:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "`when.date` must be an ISO-8601 date-time string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(422, f"`when.date` is not a valid ISO-8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _seconds(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SECONDS:
        raise ApiError(422, f"`when.{name}` must be an integer from 1 to {MAX_SECONDS}")
    return value


def _cron(value: Any) -> str:
    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        raise ApiError(422, "`when.cron` must be a valid 5-field cron expression (UTC)")
    return " ".join(value.split())
