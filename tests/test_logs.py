"""Logging: secrets never reach the log, JSON is one object per line, LOG_* settings validate."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_from_settings, setup_logging
from bot.redact import MASK, Redactor

KEY = "hdg_live_5up3r53cr3tK3y"
BOT = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
APP = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef"
USER = "xoxp-111-222-333-abcdef"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The root logger writing to a buffer; the handler is removed afterwards."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging("DEBUG", "text", [KEY], buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def json_stream(secrets: list[str]) -> tuple[io.StringIO, logging.Handler]:
    buffer = io.StringIO()
    return buffer, setup_logging("INFO", "json", secrets, buffer)


def test_tokens_and_keys_are_masked_wherever_they_appear(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("token %s and app %s", BOT, APP)
    log.info(f"user token {USER} in an f-string")
    log.warning("headers: %r", {"Authorization": f"Bearer {KEY}"})
    log.info("the key is %s", KEY)
    log.info("with extra", extra={"token": BOT, "nested": {"k": [KEY]}})
    try:
        raise RuntimeError(f"request failed with key={KEY} and {BOT}")
    except RuntimeError:
        log.exception("boom")
    log.info("stack", stack_info=True, extra={"note": f"Authorization: Bearer {BOT}"})
    output = stream.getvalue()
    for secret in (KEY, BOT, APP, USER, "1234567890-0987654321"):
        assert secret not in output
    assert "xoxb-" + MASK in output and "xapp-" + MASK in output and "xoxp-" + MASK in output
    assert "Bearer " + MASK in output
    assert "RuntimeError" in output and "boom" in output  # the traceback is kept, masked


def test_third_party_loggers_are_masked_too(stream: io.StringIO) -> None:
    logging.getLogger("slack_sdk.web.async_base_client").debug("Sending: token=%s", BOT)
    logging.getLogger("aiohttp.access").info('"GET /x?key=%s HTTP/1.1"', KEY)
    assert BOT not in stream.getvalue() and KEY not in stream.getvalue()


def test_a_broken_format_string_does_not_leak_its_arguments(stream: io.StringIO) -> None:
    logging.getLogger("bot.test").info("two placeholders %s %s", BOT)
    assert BOT not in stream.getvalue() and "two placeholders" in stream.getvalue()


def test_text_lines_carry_extra_fields(stream: io.StringIO) -> None:
    logging.getLogger("bot.runner").info(
        "run finished", extra={"run_id": 7, "worker_id": "w_1", "seconds": 1.5, "why": "a b"}
    )
    line = stream.getvalue().strip()
    assert " INFO bot.runner: run finished " in line
    assert 'run_id=7 seconds=1.5 why="a b" worker_id=w_1' in line


def test_json_output_is_one_object_per_line() -> None:
    buffer, handler = json_stream([KEY])
    try:
        log = logging.getLogger("bot.runner")
        log.info("run %d finished", 3, extra={"run_id": 3, "duration": 2.25, "team": "T1"})
        log.warning("second line\nwith a newline and %s", KEY)
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            log.error("failed", exc_info=True, extra={"level": "mine"})
    finally:
        logging.getLogger().removeHandler(handler)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert list(first)[:4] == ["time", "level", "logger", "message"]
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO",
        "bot.runner",
        "run 3 finished",
    )
    assert (first["run_id"], first["duration"], first["team"]) == (3, 2.25, "T1")
    assert second["message"] == f"second line\nwith a newline and {MASK}"
    assert "ZeroDivisionError" in third["exception"]
    assert third["level"] == "ERROR" and third["extra_level"] == "mine"


def test_setup_is_idempotent_and_leaves_other_handlers_alone() -> None:
    root = logging.getLogger()
    other = logging.NullHandler()
    root.addHandler(other)
    try:
        first = setup_logging("INFO", "text", [], io.StringIO())
        second = setup_logging("WARNING", "json", [], io.StringIO())
        assert first not in root.handlers and second in root.handlers and other in root.handlers
        assert root.level == logging.WARNING
    finally:
        root.removeHandler(other)
        root.removeHandler(second)


def test_settings_secrets_are_all_masked() -> None:
    settings = Settings(
        _env_file=None,
        slack_bot_token=SecretStr("xoxb-plain"),
        slack_signing_secret=SecretStr(SIGNING),
        handinger_api_key=SecretStr("short-but-real"),
        log_format="json",
    )
    buffer = io.StringIO()
    handler = setup_from_settings(settings, buffer)
    try:
        logging.getLogger("x").info("%s %s %s", SIGNING, "short-but-real", "xoxb-plain")
    finally:
        logging.getLogger().removeHandler(handler)
    message = json.loads(buffer.getvalue())["message"]
    assert message == f"{MASK} {MASK} {MASK}"


def test_very_short_configured_secrets_do_not_mask_ordinary_words() -> None:
    assert Redactor(["abc"]).text("abc def") == "abc def"
    assert Redactor(["abcdef"]).text("xabcdefx") == f"x{MASK}x"


@pytest.mark.parametrize(
    ("level", "fmt", "expected"),
    [("debug", "JSON", ("DEBUG", "json")), ("warn", "text", ("WARNING", "text"))],
)
def test_log_settings_are_normalised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, level: str, fmt: str, expected: tuple[str, str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", level)
    monkeypatch.setenv("LOG_FORMAT", fmt)
    settings = load_settings(None)
    assert (settings.log_level, settings.log_format) == expected


def test_bad_log_settings_are_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    problems = "\n".join(caught.value.problems)
    assert "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in problems
    assert "LOG_FORMAT: must be one of text, json (got 'xml')" in problems


def test_per_request_access_lines_only_at_debug() -> None:
    access = logging.getLogger("aiohttp.access")
    root = logging.getLogger()
    level = root.level
    quiet, loud = io.StringIO(), io.StringIO()
    try:
        handler = setup_logging("INFO", "text", [], quiet)
        access.info("127.0.0.1 POST /slack/events 200")
        logging.getLogger("bot.core").info("run 1 started")
        root.removeHandler(handler)
        handler = setup_logging("DEBUG", "text", [], loud)
        access.info("127.0.0.1 POST /slack/events 200")
        root.removeHandler(handler)
    finally:
        root.setLevel(level)
        access.setLevel(logging.NOTSET)
    assert "/slack/events" not in quiet.getvalue() and "run 1 started" in quiet.getvalue()
    assert "/slack/events" in loud.getvalue()
