"""Logging: `LOG_LEVEL`, `LOG_FORMAT=text|json`, and secrets masked in every record.

The redaction filter sits on the handler, so every record that reaches the log is masked,
whichever logger (ours, Bolt's, slack_sdk's, aiohttp's) emitted it and whatever it carries: the
message and its arguments, extra fields, the traceback and the stack. It masks with
`redact.Redactor` (Slack tokens, `Bearer …` credentials and the configured secrets themselves),
so a secret never reaches the log even when code logs it by mistake.

JSON output is one object per line: `time` (UTC, ISO 8601), `level`, `logger`, `message`, then
the record's extra fields (`log.info("run finished", extra={"run_id": 3})` → `"run_id": 3`) and
`exception` when there is a traceback. Text output appends the extra fields as `key=value`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

from .config import Settings
from .redact import Redactor

ACCESS_LOGGER = "aiohttp.access"

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_handinger_slack_handler"


class RedactingFilter(logging.Filter):
    """Rewrites every record in place so that no secret is left in it; never drops a record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record, nor leak its args
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact.text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact.text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact.text(record.stack_info)
        for key, value in extra_fields(record).items():
            setattr(record, key, redact.value(value))
        return True


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller added with `extra={…}`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            payload[key if key not in payload else f"extra_{key}"] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value …`, the traceback on the following lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = extra_fields(record)
        if extras:
            line += " " + " ".join(f"{k}={_shown(v)}" for k, v in sorted(extras.items()))
        return line


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if not text or any(c.isspace() or c in '"=' for c in text) else text


POOL_LOGGER = "psycopg.pool"


def setup_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send the root logger to `stream` (stderr) in `fmt`, masking secrets; idempotent: a
    second call replaces the handler the first one installed. Returns the handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # One access line per request Slack sends (every event, in HTTP mode) would drown the
    # app's own lines, so aiohttp's access log is shown at DEBUG only.
    debug = root.getEffectiveLevel() <= logging.DEBUG
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.DEBUG if debug else logging.WARNING)
    # psycopg's pool warns at every failed connection attempt, dozens a minute while the
    # database is down; store/outage.py says it once when an outage starts and once when it
    # ends, so the pool speaks at DEBUG only.
    logging.getLogger(POOL_LOGGER).setLevel(logging.DEBUG if debug else logging.ERROR)
    return handler


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret value in the settings (the Handinger key, tokens, the signing secret, the
    OAuth client secret, DATABASE_URL and its password)."""
    values = (
        settings.handinger_api_key,
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.slack_client_secret,
    )
    found = [v.get_secret_value() for v in values if v is not None]
    if settings.database_url is not None:  # the URL and, on its own, its password
        url = settings.database_url.get_secret_value()
        found += [url, *[p for p in [urlsplit(url).password] if p]]
    return found


def setup_from_settings(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """`setup_logging` with `LOG_LEVEL`, `LOG_FORMAT` and the configured secrets."""
    return setup_logging(
        settings.log_level, settings.log_format, configured_secrets(settings), stream
    )
