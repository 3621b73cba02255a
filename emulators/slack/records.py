"""What tests inspect after the fact: Web API calls, deliveries and their acks, ephemeral posts.

Kept separate from the world so the logs can be filtered and reset independently, and so
tokens are redacted in exactly one place before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET_KEYS = {"token", "client_secret", "app_token", "bot_token", "refresh_token"}
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """Copy of `value` with every token-like field replaced, at any depth."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if k in SECRET_KEYS and v is not None else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and value.startswith(("xoxb-", "xoxp-", "xapp-")):
        return REDACTED
    return value


@dataclass
class Records:
    """Append-only logs; each entry gets a `seq` so pollers can ask for `?since=`."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    _seq: int = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def add_call(self, entry: dict[str, Any]) -> None:
        entry["seq"] = self._next()
        entry["args"] = redact(entry.get("args", {}))
        self.calls.append(entry)

    def add_ack(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry["seq"] = self._next()
        self.acks.append(entry)
        return entry

    def add_ephemeral(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry["seq"] = self._next()
        self.ephemeral.append(entry)
        return entry


def select(
    entries: list[dict[str, Any]], since: int = 0, **match: str | None
) -> list[dict[str, Any]]:
    """Entries after `since` whose fields equal every non-None value in `match`."""
    wanted = {k: v for k, v in match.items() if v is not None}
    return [
        e
        for e in entries
        if e.get("seq", 0) > since and all(str(e.get(k)) == v for k, v in wanted.items())
    ]
