"""What went wrong, as data: a `Problem` is a code and the few facts its wording needs.

The Slack adapter words each problem (`bot/slack/wording.py`), saying what to do next. What a
server said is kept only as a short excerpt with any secret masked (the Handinger client masks
its own key before an error is built; the excerpt masks token-shaped strings again).

A run's failure (`Failure`) is a `Problem` of the app's, or the worker's own words (text from
Handinger). The store keeps it as text: a problem as a tagged JSON line (`stored`), read back
by `restored`; any other text is the worker's words, or a failure recorded by an older version.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal, get_args

from ..handinger.errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    HandingerError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from ..redact import TOKENS

ProblemCode = Literal[
    "rejected_key",
    "no_access",
    "worker_gone",
    "rate_limited",
    "server_error",
    "worker_busy",
    "refused",
    "unreachable",
    "no_worker_id",
    "unreadable",
    "internal",
    "lost_before_start",
    "unfetched",
]
EXCERPT_CHARS = 160
_TAG = "problem:"


@dataclass(frozen=True, slots=True)
class Problem:
    """`status`: the HTTP status, when there was one; `retried`: the request was retried and
    still failed; `said`: an excerpt of what the server said (masked, one line)."""

    code: ProblemCode
    status: int | None = None
    retried: bool = False
    said: str = ""


Failure = Problem | str
"""Why a run failed: a problem of the app's, or the worker's own words."""

LOST_BEFORE_START = Problem("lost_before_start")
NO_WORKER_ID = Problem("no_worker_id")


class NoWorkerId(APIResponseError):
    """Handinger started a turn without saying which worker it belongs to."""

    def __init__(self) -> None:
        super().__init__("Handinger did not say which worker it started")


def excerpt(text: str) -> str:
    """A server's text fit to quote: one short line, token-shaped strings masked."""
    line = " ".join(TOKENS.text(text).split())
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 1] + "…"


def unfetched(error: BaseException) -> Problem:
    """A turn that ran but whose result Handinger kept failing to give: it will follow."""
    status = error.status_code if isinstance(error, APIStatusError) else None
    return Problem("unfetched", status)


def diagnose(error: BaseException) -> Problem:
    """What went wrong, from the error a request raised."""
    retried = isinstance(error, HandingerError) and error.attempts > 1
    if isinstance(error, AuthenticationError):
        return Problem("rejected_key", 401)
    if isinstance(error, PermissionDeniedError):
        return Problem("no_access", 403)
    if isinstance(error, NotFoundError):
        return Problem("worker_gone", 404)
    if isinstance(error, RateLimitError):
        return Problem("rate_limited", 429, retried)
    if isinstance(error, InternalServerError):
        return Problem("server_error", error.status_code, retried)
    if isinstance(error, ConflictError):
        return Problem("worker_busy", 409)
    if isinstance(error, APIStatusError):
        return Problem("refused", error.status_code, said=excerpt(error.message))
    if isinstance(error, APIConnectionError):
        return Problem("unreachable")
    if isinstance(error, NoWorkerId):
        return NO_WORKER_ID
    if isinstance(error, APIResponseError | HandingerError):
        return Problem("unreadable")
    return Problem("internal")


def stored(failure: Failure) -> str:
    """The failure as the store keeps it (`Run.error`)."""
    if isinstance(failure, str):
        return failure
    return _TAG + json.dumps(asdict(failure), separators=(",", ":"))


def restored(text: str | None) -> Failure | None:
    """A failure as `stored` wrote it; any other text is taken as words to show as they are."""
    if text is None or not text.startswith(_TAG):
        return text
    try:
        fields = json.loads(text[len(_TAG) :])
        if fields.get("code") in get_args(ProblemCode):
            return Problem(**fields)
    except (ValueError, TypeError, AttributeError):
        pass
    return text
