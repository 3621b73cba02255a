"""Retry policy: which failures are repeated, and how long to wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.handinger.errors import (
    APIConnectionError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    RateLimitError,
    status_error,
)
from bot.handinger.retry import backoff_delay, parse_retry_after, should_retry


def test_parse_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None


def test_idempotent_requests_retry_transient_failures() -> None:
    for status in (408, 429, 500, 502, 503, 504):
        assert should_retry(status_error(status, "x", None), idempotent=True), status
    for status in (400, 401, 403, 404, 409, 422):
        assert not should_retry(status_error(status, "x", None), idempotent=True), status
    assert should_retry(APIConnectionError("reset"), idempotent=True)


def test_creates_retry_only_when_the_server_certainly_did_not_act() -> None:
    assert should_retry(RateLimitError(429, "slow down"), idempotent=False)
    assert should_retry(InternalServerError(503, "unavailable"), idempotent=False)
    assert not should_retry(InternalServerError(500, "oops"), idempotent=False)
    assert not should_retry(InternalServerError(502, "bad gateway"), idempotent=False)
    assert not should_retry(ConflictError(409, "busy"), idempotent=False)
    assert not should_retry(BadRequestError(400, "bad"), idempotent=False)
    assert should_retry(APIConnectionError("refused", certainly_not_sent=True), idempotent=False)
    assert not should_retry(APIConnectionError("reset mid-request"), idempotent=False)


def test_backoff_grows_is_capped_and_jittered() -> None:
    assert backoff_delay(1, rand=lambda: 0.0) == 0.5
    assert backoff_delay(2, rand=lambda: 0.0) == 1.0
    assert backoff_delay(3, rand=lambda: 0.0) == 2.0
    assert backoff_delay(10, rand=lambda: 0.0) == 8.0
    assert backoff_delay(1, rand=lambda: 1.0) == 0.375


def test_status_error_classes_carry_status_and_message() -> None:
    error = status_error(404, "Worker not found", None)
    assert error.status_code == 404 and error.message == "Worker not found"
    assert "404" in str(error) and "Worker not found" in str(error)
    assert type(status_error(418, "teapot", None)).__name__ == "APIStatusError"
    assert isinstance(status_error(599, "x", 2.0), InternalServerError)
