"""User-facing explanations of what went wrong, each saying what to do next."""

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
            "Handinger is rate limiting the app (429) and still was after retrying. "
            "Please try again in a minute."
        )
    if isinstance(error, InternalServerError):
        return (
            f"Handinger had a server error ({error.status_code}) and still did after "
            "retrying. Please try again in a few minutes."
        )
    if isinstance(error, ConflictError):
        return "The worker is busy with another turn (409). Reply again once it has finished."
    if isinstance(error, APIStatusError):
        return f"Handinger refused the request ({error.status_code}): {error.message}"
    if isinstance(error, APIConnectionError):
        return (
            "The app could not reach Handinger. Please try again shortly; if it keeps "
            "happening, an admin should check `HANDINGER_BASE_URL` and the network."
        )
    if isinstance(error, APIResponseError | HandingerError):
        return f"Handinger sent a response the app could not understand: {error}"
    return "Something went wrong inside the app. The error was logged for the admin."
