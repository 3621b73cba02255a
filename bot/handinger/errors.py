"""One exception hierarchy for everything the Handinger API can do wrong.

Callers catch `HandingerError` for "anything", or a subclass to react to one cause: the bot tells
users "an admin must check the key" on `AuthenticationError`, "the worker is gone" on
`NotFoundError`, and so on.
"""

from __future__ import annotations


class HandingerError(Exception):
    """Base class of every error raised by the Handinger client.

    `attempts` is how many times the request was sent before giving up (more than one only
    when it was retried), so an explanation can say "after retrying" only when that is true.
    """

    attempts: int = 1


class APIConnectionError(HandingerError):
    """The request failed below HTTP: refused, reset, DNS, TLS, or the stream was cut.

    `certainly_not_sent` is true when the failure happened before any byte of the request could
    have reached the server (a refused connection, a connect timeout), which is the only case where
    a non-idempotent request may be repeated safely.
    """

    def __init__(self, message: str, *, certainly_not_sent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.certainly_not_sent = certainly_not_sent


class APITimeoutError(APIConnectionError):
    """The server did not answer in time."""


class StreamInterruptedError(APIConnectionError):
    """An event stream ended without the server closing it cleanly."""


class StreamStalledError(StreamInterruptedError):
    """No bytes arrived on an event stream for longer than the idle limit."""


class FileTooLargeError(HandingerError):
    """A file download went past the size cap; the download was stopped there."""

    def __init__(self, url: str, limit: int, size: int | None = None) -> None:
        declared = f" (declared {size} bytes)" if size is not None else ""
        super().__init__(f"file is larger than the {limit}-byte limit{declared}: {url}")
        self.url = url
        self.limit = limit
        self.size = size


class ForeignOriginError(HandingerError):
    """A file URL points outside the configured Handinger origin, so it is not fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(f"file URL is not on the Handinger origin: {url}")
        self.url = url


class APIStatusError(HandingerError):
    """The server answered with a 4xx or 5xx status.

    `message` is the server's `{"error": ...}` text when it sent one, else the raw body.
    `retry_after` is the server's requested delay in seconds, when it gave one.
    """

    status_code: int = 0

    def __init__(self, status_code: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"Handinger API error {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but has no access to this worker or organization."""


class NotFoundError(APIStatusError):
    """404: unknown worker, schedule or file."""


class ConflictError(APIStatusError):
    """409: the worker is busy or the request conflicts with its state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but invalid (a bad budget, `when` or cron)."""


class RateLimitError(APIStatusError):
    """429: too many requests for this key."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(status_code: int, message: str, retry_after: float | None) -> APIStatusError:
    """Build the exception class that matches an HTTP status."""
    if status_code >= 500:
        return InternalServerError(status_code, message, retry_after)
    cls = _BY_STATUS.get(status_code, APIStatusError)
    return cls(status_code, message, retry_after)


class APIResponseError(HandingerError):
    """The server answered 2xx with a body this client cannot understand."""
