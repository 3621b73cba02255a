"""Async client for the Handinger workers API, over httpx and httpx-sse.

Every endpoint of `reference/handinger-api.md`. Requests that only read are retried on any
transient failure; requests that create something (a worker, a turn, a schedule) are retried only
when the server certainly did not act, so a retry can never produce a second worker. Streams have
no overall timeout, only an idle limit, because agent turns can run for many minutes.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from httpx_sse import EventSource
from pydantic import ValidationError

from .errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    FileTooLargeError,
    ForeignOriginError,
    StreamInterruptedError,
    StreamStalledError,
    status_error,
)
from .events import StreamEvent, decode_data, decode_payload
from .models import SCHEDULE_ADAPTER, Budget, ScheduleList, When, Worker, WorkerSchedule
from .retry import Sleep, parse_retry_after, retrying

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://v3.handinger.com"
USER_AGENT = "handinger-slack/0.1"


class Sink(Protocol):
    """Where a download is written: a binary file, a buffer, or a hashing writer."""

    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, slots=True)
class Download:
    """What a finished file download wrote."""

    size: int
    media_type: str


class HandingerClient:
    """One connection pool to one Handinger origin, authenticated with one API key."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        turn_timeout: float = 900.0,
        stream_idle_timeout: float = 90.0,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`turn_timeout` bounds a non-streaming create/continue, which may block until the turn
        ends; `stream_idle_timeout` is how long a stream may stay silent before it counts as
        stalled."""
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
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
            base_url=self.base_url,
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=50),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> HandingerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- workers ------------------------------------------------------------------------

    async def create_worker(self, input: str, *, budget: Budget | None = None) -> Worker:
        """Create a worker and start it. The server may answer at once or when the turn ends."""
        body = _turn_body(input, budget)
        data = await self._json("POST", "api/workers", body, idempotent=False, turn=True)
        return _worker(data)

    async def get_worker(self, worker_id: str) -> Worker:
        return _worker(await self._json("GET", _worker_path(worker_id)))

    async def continue_worker(
        self, worker_id: str, input: str, *, budget: Budget | None = None
    ) -> Worker:
        """Send another instruction to an existing worker (a new turn)."""
        body = _turn_body(input, budget)
        path = _worker_path(worker_id)
        return _worker(await self._json("POST", path, body, idempotent=False, turn=True))

    def create_worker_streaming(
        self, input: str, *, budget: Budget | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Create a worker with `stream: true`; the first events say which worker it is."""
        body = {**_turn_body(input, budget), "stream": True}
        return self._events("POST", "api/workers", body, idempotent=False)

    def continue_worker_streaming(
        self, worker_id: str, input: str, *, budget: Budget | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Continue a worker with `stream: true` and follow the new turn."""
        body = {**_turn_body(input, budget), "stream": True}
        return self._events("POST", _worker_path(worker_id), body, idempotent=False)

    def stream_worker(self, worker_id: str) -> AsyncIterator[StreamEvent]:
        """Subscribe to a worker: replayed history, then the live turn if any, then the end.

        Yields nothing when the server answers 204 (nothing running). Raises
        `StreamStalledError` when the stream stays silent past the idle limit and
        `StreamInterruptedError` when it is cut; either way, `get_worker` has the truth.
        """
        return self._events("GET", _worker_path(worker_id) + "/stream", None, idempotent=True)

    async def get_email(self, worker_id: str) -> str:
        """The worker's inbound email address (the API returns it as a JSON string)."""
        data = await self._json("GET", _worker_path(worker_id) + "/email")
        if isinstance(data, dict):  # later API versions wrap it: {"email": "..."}
            data = data.get("email")
        if not isinstance(data, str) or not data:
            raise APIResponseError(f"expected an email address, got {data!r}")
        return data

    # ---- files --------------------------------------------------------------------------

    def file_url(self, worker_id: str, path: str) -> str:
        """The API URL of a published file; nested paths keep their slashes."""
        return str(self.base_url.join(_worker_path(worker_id) + "/files/" + quote(path)))

    def resolve_url(self, url: str) -> httpx.URL:
        """A file URL as the API gave it, made absolute against the API base."""
        return self.base_url.join(url)

    def is_handinger_url(self, url: str) -> bool:
        """True when `url` (absolute or relative) is on the configured Handinger origin."""
        return _origin(self.resolve_url(url)) == _origin(self.base_url)

    async def download_file(
        self, url: str, *, max_bytes: int, allow_foreign: bool = False
    ) -> tuple[bytes, str]:
        """Download a published file into memory; returns its bytes and media type."""
        buffer = io.BytesIO()
        result = await self.download_file_to(
            url, buffer, max_bytes=max_bytes, allow_foreign=allow_foreign
        )
        return buffer.getvalue(), result.media_type

    async def download_file_to(
        self, url: str, sink: Sink, *, max_bytes: int, allow_foreign: bool = False
    ) -> Download:
        """Stream a published file into `sink`, stopping as soon as it passes `max_bytes`.

        The API key is sent only to the Handinger origin. A URL elsewhere raises
        `ForeignOriginError` unless `allow_foreign`, and is then fetched without the key.
        """
        target = self.resolve_url(url)
        trusted = _origin(target) == _origin(self.base_url)
        if not trusted and not allow_foreign:
            raise ForeignOriginError(str(target))
        response = await self._send(
            "GET", target, None, idempotent=True, stream=True, authenticate=trusted
        )
        try:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise FileTooLargeError(str(target), max_bytes, int(declared))
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLargeError(str(target), max_bytes)
                sink.write(chunk)
            media_type = response.headers.get("content-type", "application/octet-stream")
            return Download(size=size, media_type=media_type.split(";")[0].strip())
        except httpx.TimeoutException as exc:
            raise APITimeoutError(f"file download timed out: {target}") from exc
        except httpx.TransportError as exc:
            raise APIConnectionError(f"file download was cut: {exc}") from exc
        finally:
            await response.aclose()

    # ---- schedules ----------------------------------------------------------------------

    async def list_schedules(self, worker_id: str) -> list[WorkerSchedule]:
        data = await self._json("GET", _worker_path(worker_id) + "/schedules")
        try:
            return ScheduleList.model_validate(data).schedules
        except ValidationError as exc:
            raise APIResponseError(f"unexpected schedule list: {exc}") from exc

    async def create_schedule(
        self, worker_id: str, input: str, when: When, *, budget: Budget | None = None
    ) -> WorkerSchedule:
        body: dict[str, Any] = {"input": input, "when": when.model_dump(mode="json")}
        if budget is not None:
            body["budget"] = budget
        path = _worker_path(worker_id) + "/schedules"
        data = await self._json("POST", path, body, idempotent=False)
        try:
            return SCHEDULE_ADAPTER.validate_python(data)
        except ValidationError as exc:
            raise APIResponseError(f"unexpected schedule: {exc}") from exc

    async def cancel_schedule(self, worker_id: str, schedule_id: str) -> bool:
        """Cancel a schedule; False when it was unknown or had already run."""
        path = f"{_worker_path(worker_id)}/schedules/{quote(schedule_id, safe='')}"
        data = await self._json("DELETE", path)
        return bool(data.get("cancelled")) if isinstance(data, dict) else False

    # ---- transport ----------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = True,
        turn: bool = False,
    ) -> Any:
        response = await self._send(method, path, body, idempotent=idempotent, turn=turn)
        try:
            return response.json()
        except ValueError as exc:
            raise APIResponseError(f"{method} {path}: response is not JSON") from exc

    async def _events(
        self, method: str, path: str, body: Mapping[str, Any] | None, *, idempotent: bool
    ) -> AsyncIterator[StreamEvent]:
        response = await self._send(
            method,
            path,
            body,
            idempotent=idempotent,
            stream=True,
            headers={"Accept": "text/event-stream", "Cache-Control": "no-store"},
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

    async def _send(
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


def _worker_path(worker_id: str) -> str:
    return "api/workers/" + quote(worker_id, safe="")


def _turn_body(input: str, budget: Budget | None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": input}
    if budget is not None:
        body["budget"] = budget
    return body


def _worker(data: Any) -> Worker:
    try:
        return Worker.model_validate(data)
    except ValidationError as exc:
        raise APIResponseError(f"unexpected worker payload: {exc}") from exc


def _decode_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise APIResponseError("response is neither an event stream nor JSON") from exc


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default_port)


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
