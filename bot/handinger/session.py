"""How requests reach Handinger: authentication, timeouts, retries, and failures as errors.

`HandingerClient` says what to ask; a `Session` sends it. Requests that only read are retried on
any transient failure; requests that create something are retried only when the server certainly
did not act. Streams have no overall timeout, only an idle limit, because agent turns can run for
many minutes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from httpx_sse import EventSource

from .errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    StreamInterruptedError,
    StreamStalledError,
    status_error,
)
from .events import StreamEvent, decode_data, decode_payload
from .retry import Sleep, parse_retry_after, retrying

log = logging.getLogger(__name__)

USER_AGENT = "handinger-slack/0.1"


class Session:
    """One connection pool to one Handinger origin, authenticated with one API key."""

    def __init__(
        self,
        api_key: str,
        base_url: httpx.URL,
        *,
        timeout: float,
        connect_timeout: float,
        turn_timeout: float,
        stream_idle_timeout: float,
        max_retries: int,
        transport: httpx.AsyncBaseTransport | None,
        sleep: Sleep,
    ) -> None:
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._turn_timeout = httpx.Timeout(turn_timeout, connect=connect_timeout)
        self._stream_timeout = httpx.Timeout(
            connect=connect_timeout, read=stream_idle_timeout, write=timeout, pool=timeout
        )
        self._max_retries = max_retries
        self._sleep = sleep
        # Every streaming turn holds a connection for minutes: no pool limit, or run 101
        # would wait behind 100 streams (and the final GETs of all of them with it).
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=50),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = True,
        turn: bool = False,
    ) -> Any:
        """Send a request and return its decoded JSON body."""
        response = await self.send(method, path, body, idempotent=idempotent, turn=turn)
        try:
            return response.json()
        except ValueError as exc:
            raise APIResponseError(f"{method} {path}: response is not JSON") from exc

    async def events(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Send a request that answers with an event stream, and decode the events as they come."""
        response = await self.send(
            method,
            path,
            body,
            idempotent=idempotent,
            stream=True,
            headers={"Accept": "text/event-stream", "Cache-Control": "no-store", **(headers or {})},
        )
        try:
            if response.status_code == 204:
                return
            content_type = response.headers.get("content-type", "")
            if "text/event-stream" not in content_type:
                # The server ignored `stream` and answered with a plain Worker.
                await response.aread()
                for event in decode_payload(_decode_body(response)):
                    yield event
                return
            async for sse in EventSource(response).aiter_sse():
                for event in decode_data(sse.data):
                    yield event
        except httpx.ReadTimeout as exc:
            raise StreamStalledError("the event stream stalled past its idle limit") from exc
        except httpx.TransportError as exc:
            raise StreamInterruptedError(f"the event stream was cut: {exc!r}") from exc
        finally:
            await response.aclose()

    async def send(
        self,
        method: str,
        url: str | httpx.URL,
        body: Mapping[str, Any] | None,
        *,
        idempotent: bool,
        stream: bool = False,
        turn: bool = False,
        authenticate: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request with retries; return a 2xx response or raise a `HandingerError`."""
        request_headers = {"Accept": "application/json", **(headers or {})}
        if authenticate:
            request_headers["Authorization"] = f"Bearer {self._api_key}"
        timeout = self._stream_timeout if stream else self._turn_timeout if turn else self._timeout
        request = self._http.build_request(
            method, url, json=body, headers=request_headers, timeout=timeout
        )
        async for attempt in retrying(self._max_retries, idempotent=idempotent, sleep=self._sleep):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.info(
                        "handinger retry %d: %s %s",
                        attempt.retry_state.attempt_number - 1,
                        method,
                        request.url.path,
                    )
                return await self._send_once(request, stream=stream)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _send_once(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        try:
            response = await self._http.send(request, stream=stream, follow_redirects=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing of the request can have reached the server.
            raise _connection_error(exc, certainly_not_sent=True) from exc
        except httpx.TransportError as exc:
            raise _connection_error(exc, certainly_not_sent=False) from exc
        if response.status_code < 400:
            return response
        try:
            await response.aread()
        except httpx.TransportError:
            pass
        finally:
            await response.aclose()
        raise status_error(
            response.status_code,
            _error_message(response),
            _retry_after(response.headers),
        )


def _connection_error(exc: httpx.TransportError, *, certainly_not_sent: bool) -> APIConnectionError:
    message = f"cannot reach Handinger: {exc!r}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(message, certainly_not_sent=certainly_not_sent)
    return APIConnectionError(message, certainly_not_sent=certainly_not_sent)


def _decode_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise APIResponseError("response is neither an event stream nor JSON") from exc


def _error_message(response: httpx.Response) -> str:
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:500] or response.reason_phrase
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        inner = data["error"].get("message")
        if isinstance(inner, str):
            return inner
    return text.strip()[:500]


def _retry_after(headers: httpx.Headers) -> float | None:
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))
