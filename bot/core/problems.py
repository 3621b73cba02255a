"""User-facing explanations of what went wrong, each saying what to do next.

They are plain text in our own words, with the status code; what the server said is quoted
only as a short excerpt with any secret masked (the Handinger client masks its own key before
an error is built; the excerpt masks token-shaped strings again). Callers escape the result for
Slack like any other untrusted text.
"""

from __future__ import annotations

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

WORKER_GONE = (
    "This thread's Handinger worker no longer exists, so it cannot continue. "
    "Start a new one with `/handinger <instruction>`."
)
LOST_BEFORE_START = (
    "The app restarted before Handinger confirmed the worker, so this run may not have "
    "started. Please send the instruction again."
)
NO_WORKER_ID = (
    "Handinger did not say which worker it started, so the answer cannot be followed. "
    "Please try again; if it keeps happening, an admin should check the Handinger API."
)
EXCERPT_CHARS = 160


class NoWorkerId(APIResponseError):
    """Handinger started a turn without saying which worker it belongs to."""

    def __init__(self) -> None:
        super().__init__(NO_WORKER_ID)


def excerpt(text: str) -> str:
    """A server's text fit to quote: one short line, token-shaped strings masked."""
    line = " ".join(TOKENS.text(text).split())
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 1] + "…"


def _still(error: HandingerError, what: str) -> str:
    """' and still <what> after retrying', only when the request was in fact retried."""
    return f" and still {what} after retrying" if error.attempts > 1 else ""


def unfetched(error: BaseException) -> str:
    """For a turn that ran but whose result Handinger kept failing to give: it will follow."""
    status = f" ({error.status_code})" if isinstance(error, APIStatusError) else ""
    return (
        f"Handinger kept failing{status} when the app fetched this turn's result, even after "
        "retrying. This message will show the result once Handinger answers again; Refresh in "
        "its menu tries right away."
    )


def describe(error: BaseException) -> str:
    """One or two sentences for the run's message: what happened and what to do next."""
    if isinstance(error, AuthenticationError):
        return (
            "Handinger rejected the app's API key (401). An admin must check `HANDINGER_API_KEY`."
        )
    if isinstance(error, PermissionDeniedError):
        return (
            "The app's Handinger API key has no access to this worker (403). "
            "An admin must check the key's organization and permissions."
        )
    if isinstance(error, NotFoundError):
        return WORKER_GONE
    if isinstance(error, RateLimitError):
        return (
            f"Handinger is rate limiting the app (429){_still(error, 'was')}. "
            "Please try again in a minute."
        )
    if isinstance(error, InternalServerError):
        return (
            f"Handinger had a server error ({error.status_code}){_still(error, 'did')}. "
            "Please try again in a few minutes."
        )
    if isinstance(error, ConflictError):
        return "The worker is busy with another turn (409). Reply again once it has finished."
    if isinstance(error, APIStatusError):
        said = excerpt(error.message)
        quoted = f" It said: “{said}”." if said else ""
        return (
            f"Handinger refused the request ({error.status_code}).{quoted} Please check the "
            "instruction and try again; if it keeps happening, an admin should check the logs."
        )
    if isinstance(error, APIConnectionError):
        return (
            "The app could not reach Handinger. Please try again shortly; if it keeps "
            "happening, an admin should check `HANDINGER_BASE_URL` and the network."
        )
    if isinstance(error, NoWorkerId):
        return NO_WORKER_ID
    if isinstance(error, APIResponseError | HandingerError):
        return (
            "Handinger sent a response the app could not understand. Please try again; if it "
            "keeps happening, an admin should check the logs."
        )
    return "Something went wrong inside the app. The error was logged for the admin."
