"""Masking secrets in text: used by the logs and by everything shown to Slack users.

It lives below every layer (it imports nothing of the app), so the Handinger client, the core
and the Slack adapter can all mask what they pass on, and the log handler masks the rest. It
masks Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`), `Bearer …` and `Basic …` credentials, and
the configured secrets themselves (the Handinger key, the signing secret, …).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"
MIN_SECRET_LENGTH = 6
"""Configured secrets shorter than this are not matched literally (they would mask ordinary
words); real keys and tokens are far longer."""

TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens, including rotating ones (`xoxe.xoxb-1-…`): keep the kind, drop the secret
    (re.compile(r"\b((?:xoxe\.)?xox[abepr]|xapp)-[A-Za-z0-9-]+"), r"\1-" + MASK),
    # `Authorization: Bearer …` and any other bearer credential
    (re.compile(r"(?i)\b(bearer)(\s+)[^\s\"',;}\]]+"), r"\1\2" + MASK),
    # `Authorization: Basic …` (OAuth client credentials)
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?basic\s+)[^\s\"',;}\]]+"), r"\1" + MASK),
)


class Redactor:
    """Masks token-shaped strings and the given literal secrets in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        literal = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )
        self._literal = re.compile("|".join(map(re.escape, literal))) if literal else None

    def text(self, value: str) -> str:
        if self._literal is not None:
            value = self._literal.sub(MASK, value)
        for pattern, replacement in TOKEN_PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """Strings are masked; containers are masked inside; anything else keeps its type
        unless its text form would carry a secret, in which case it becomes masked text."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        shown = str(value)
        masked = self.text(shown)
        return value if masked == shown else masked


TOKENS = Redactor()
"""Masks token-shaped strings only (no configured secret is known where it is used)."""
