"""HTTP mode: signed POSTs to the app's request URL, encoded exactly as Slack encodes them.

Events are JSON, slash commands are form fields, interactions are one `payload=` form field.
Every request (and every retry, re-signed) carries `X-Slack-Request-Timestamp` and
`X-Slack-Signature: v0=hmac_sha256(secret, "v0:{ts}:{body}")`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import aiohttp

from .config import Settings
from .transport import JSON, AckResult


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def encode(kind: str, payload: JSON) -> tuple[bytes, str]:
    """Body and content type for one delivery kind."""
    if kind == "events_api":
        return json.dumps(payload).encode(), "application/json"
    if kind == "slash_commands":
        fields = {k: v for k, v in payload.items() if v is not None}
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def parse_response(body: bytes, content_type: str) -> JSON | None:
    """The immediate response an app put in its ack: JSON, or plain text as `{"text": ...}`."""
    if not body.strip():
        return None
    text = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return {"text": text}
        return parsed if isinstance(parsed, dict) else {"text": text}
    return {"text": text}


class HttpSender:
    """One aiohttp session for all deliveries; closed with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def send(
        self, kind: str, payload: JSON, *, attempt: int, retry_reason: str, record: JSON
    ) -> AckResult:
        body, content_type = encode(kind, payload)
        headers = {"Content-Type": content_type}
        if attempt > 0:
            headers["X-Slack-Retry-Num"] = str(attempt)
            headers["X-Slack-Retry-Reason"] = retry_reason
        record["transport"] = "http"
        return await self._post(body, headers)

    async def post_json(self, payload: JSON) -> AckResult:
        """One signed JSON POST without retries (used for `url_verification`)."""
        body, content_type = encode("events_api", payload)
        return await self._post(body, {"Content-Type": content_type})

    async def _post(self, body: bytes, headers: dict[str, str]) -> AckResult:
        url = self.settings.request_url
        if not url:
            return AckResult(False, error="dispatch_failed")
        timestamp = str(int(time.time()))
        headers = {
            **headers,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self.settings.signing_secret, timestamp, body),
        }
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=self.settings.ack_timeout)
        try:
            async with self._client().post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                raw = await response.read()
                status = response.status
                no_retry = response.headers.get("X-Slack-No-Retry") == "1"
                response_type = response.headers.get("Content-Type", "")
        except TimeoutError:
            return AckResult(False, error="http_timeout")
        except aiohttp.ClientError:
            return AckResult(False, error="connection_failed")
        elapsed = (time.monotonic() - started) * 1000
        if 200 <= status < 300:
            return AckResult(True, elapsed, status, parse_response(raw, response_type))
        return AckResult(False, elapsed, status, error="http_error", no_retry=no_retry)
