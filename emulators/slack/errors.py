"""The one exception a Web API handler raises to answer `{"ok": false, "error": ...}`."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Slack error code plus any extra top-level fields (`needed`, `errors`, ...)."""

    def __init__(
        self, error: str, status: int = 200, retry_after: int | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


class ConnectionDropped(Exception):
    """A `close` fault: the handler closes the connection instead of answering."""
