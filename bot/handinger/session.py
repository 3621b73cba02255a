"""How requests reach Handinger: authentication, timeouts, retries, and failures as errors.

`HandingerClient` says what to ask; a `Session` sends it. Requests that only read are retried on
any transient failure; requests that create something are retried only when the server certainly
did not act. Streams have no overall timeout, only an idle limit, because agent turns can run for
many minutes.

Redirects are followed only within the origin of the request they answer, one hop at a time, so
neither the API key nor a download ever goes anywhere else. Error texts from the server are
masked (the key, tokens, bearer credentials) before they become exceptions, because
explanations shown to users quote them.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from httpx_sse import EventSource

from ..redact import Redactor
from .errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    ForeignOriginError,
    HandingerError,
    StreamInterruptedError,
    StreamStalledError,
    status_error,
)
from .events import StreamEvent, decode_data, decode_payload
from .retry import Sleep, parse_retry_after, retrying

log = logging.getLogger(__name__)

USER_AGENT = "handinger-slack/0.1"
MAX_REDIRECTS = 5
# httpcore rescans every connection of a pool on each request and each close (encode/httpcore
# #1035), so one pool holding a thousand open streams costs O(n) per request. Streams are spread
# round-robin over this many pools of their own, and short requests use a pool without streams.
STREAM_POOLS = 16


class Session:
    """Connection pools to one Handinger origin, authenticated with one API key: one for short
    requests, `STREAM_POOLS` for event streams (see `STREAM_POOLS` for why)."""

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
        self._redactor = Redactor([api_key])
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._turn_timeout = httpx.Timeout(turn_timeout, connect=connect_timeout)
        self._stream_timeout = httpx.Timeout(
            connect=connect_timeout, read=stream_idle_timeout, write=timeout, pool=timeout
        )
        self._max_retries = max_retries
        self._sleep = sleep
        # Every streaming turn holds a connection for minutes: no pool limit, or run 101
        # would wait behind 100 streams (and the final GETs of all of them with it).
        # One TLS context for all of them: each client would otherwise load the CA bundle again
        # (about 0.8 MB of memory each).
        tls = httpx.create_ssl_context()
        clients = [
            httpx.AsyncClient(
                base_url=base_url,
                verify=tls,
                timeout=self._timeout,
                transport=transport,
                headers={"User-Agent": USER_AGENT},
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=50),
            )
            for _ in range(STREAM_POOLS + 1)
        ]
        self._http = clients[0]
        self._stream_pools = clients[1:]
        self._next_pool = itertools.cycle(self._stream_pools)

    def client(self, *, stream: bool) -> httpx.AsyncClient:
        """The client (and so the pool) the next request goes through: streams take the stream
        pools in turn, everything else the short-request pool."""
        return next(self._next_pool) if stream else self._http

    async def aclose(self) -> None:
        for client in (self._http, *self._stream_pools):
            await client.aclose()

    async def json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = True,
        turn: bool = False,
        patience: float | None = None,
    ) -> Any:
        """Send a request and return its decoded JSON body (see `send` for `patience`)."""
        response = await self.send(
            method, path, body, idempotent=idempotent, turn=turn, patience=patience
        )
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
        patience: float | None = None,
    ) -> httpx.Response:
        """Send one request with retries; return a 2xx response or raise a `HandingerError`
        that says how many `attempts` were made. With `patience`, a retryable failure is
        repeated until the waits add up to that many seconds, not just `max_retries` times."""
        request_headers = {"Accept": "application/json", **(headers or {})}
        if authenticate:
            request_headers["Authorization"] = f"Bearer {self._api_key}"
        timeout = self._stream_timeout if stream else self._turn_timeout if turn else self._timeout
        client = self.client(stream=stream)
        request = client.build_request(
            method, url, json=body, headers=request_headers, timeout=timeout
        )
        loop = retrying(
            self._max_retries, idempotent=idempotent, sleep=self._sleep, patience=patience
        )
        async for attempt in loop:
            with attempt:
                number = attempt.retry_state.attempt_number
                if number > 1:
                    log.info("handinger retry %d: %s %s", number - 1, method, request.url.path)
                try:
                    return await self._send_once(client, request, stream=stream)
                except HandingerError as error:
                    error.attempts = number
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _send_once(
        self, client: httpx.AsyncClient, request: httpx.Request, *, stream: bool
    ) -> httpx.Response:
        """One attempt, following same-origin redirects; a 2xx response or an error."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._transmit(client, request, stream=stream)
            following = response.next_request
            if following is None:
                return response
            await response.aclose()
            if origin(following.url) != origin(request.url):
                raise ForeignOriginError(str(following.url))
            request = following
        raise APIResponseError(f"more than {MAX_REDIRECTS} redirects from {request.url.path}")

    async def _transmit(
        self, client: httpx.AsyncClient, request: httpx.Request, *, stream: bool
    ) -> httpx.Response:
        """Send one request without following redirects; a 2xx/3xx response or an error."""
        try:
            response = await client.send(request, stream=stream, follow_redirects=False)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing of the request can have reached the server.
            raise self._connection_error(exc, certainly_not_sent=True) from exc
        except httpx.TransportError as exc:
            raise self._connection_error(exc, certainly_not_sent=False) from exc
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
            self._redactor.text(_error_message(response)),
            _retry_after(response.headers),
        )

    def _connection_error(
        self, exc: httpx.TransportError, *, certainly_not_sent: bool
    ) -> APIConnectionError:
        message = self._redactor.text(f"cannot reach Handinger: {exc!r}")
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(message, certainly_not_sent=certainly_not_sent)
        return APIConnectionError(message, certainly_not_sent=certainly_not_sent)


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one made explicit), to compare origins."""
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default_port)


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
