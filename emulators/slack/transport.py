"""What both delivery transports (Socket Mode and signed HTTP) promise the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

JSON = dict[str, Any]


@dataclass
class AckResult:
    """How one delivery attempt ended.

    `error` is Slack's retry reason when the attempt failed: `timeout` (Socket Mode),
    `http_timeout`, `http_error`, `connection_failed`; or `dispatch_failed` when no app was
    connected at all.
    """

    acked: bool
    ack_ms: float | None = None
    status: int | None = None
    payload: JSON | None = None
    error: str | None = None
    no_retry: bool = False


class Transport(Protocol):
    async def send(
        self, kind: str, payload: JSON, *, attempt: int, retry_reason: str, record: JSON
    ) -> AckResult:
        """Deliver once and wait for the ack (or its absence) within the ack timeout."""
        ...
