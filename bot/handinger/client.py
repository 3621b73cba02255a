"""Async client for the Handinger workers API, over httpx and httpx-sse.

Every endpoint of the Handinger workers API, and file downloads. How a request is sent
(timeouts, retries, errors) is `session.Session`'s job: reads are retried on any transient
failure, but requests that create something (a worker, a turn, a schedule) only when the server
certainly did not act, so a retry can never produce a second worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from ..budgets import Budget
from .errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    FileTooLargeError,
    ForeignOriginError,
)
from .events import StreamEvent
from .models import SCHEDULE_ADAPTER, ScheduleList, When, Worker, WorkerSchedule
from .retry import Sleep
from .session import Session, origin

DEFAULT_BASE_URL = "https://v3.handinger.com"


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
        patience: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`turn_timeout` bounds a non-streaming create/continue, which may block until the turn
        ends; `stream_idle_timeout` is how long a stream may stay silent before it counts as
        stalled; `patience` is how many seconds a patient read keeps retrying (`get_worker`)."""
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self.patience = patience
        self._session = Session(
            api_key,
            self.base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            turn_timeout=turn_timeout,
            stream_idle_timeout=stream_idle_timeout,
            max_retries=max_retries,
            transport=transport,
            sleep=sleep,
        )

    async def aclose(self) -> None:
        await self._session.aclose()

    async def __aenter__(self) -> HandingerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- workers ------------------------------------------------------------------------

    async def create_worker(self, input: str, *, budget: Budget | None = None) -> Worker:
        """Create a worker and start it. The server may answer at once or when the turn ends."""
        body = _turn_body(input, budget)
        data = await self._session.json("POST", "api/workers", body, idempotent=False, turn=True)
        return _worker(data)

    async def get_worker(self, worker_id: str, *, patient: bool = False) -> Worker:
        """The worker as it is now. `patient`: retry transient failures for `patience` seconds
        instead of a few times, for the read a final message depends on."""
        patience = self.patience if patient else None
        return _worker(await self._session.json("GET", _worker_path(worker_id), patience=patience))

    async def continue_worker(
        self, worker_id: str, input: str, *, budget: Budget | None = None
    ) -> Worker:
        """Send another instruction to an existing worker (a new turn)."""
        body = _turn_body(input, budget)
        path = _worker_path(worker_id)
        return _worker(await self._session.json("POST", path, body, idempotent=False, turn=True))

    def create_worker_streaming(
        self, input: str, *, budget: Budget | None = None, idempotency_key: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Create a worker with `stream: true`; the first events say which worker it is.

        With `idempotency_key`, the request carries `Idempotency-Key`: sent again with the same
        key and body, an API that honours the header returns the same worker instead of making
        a second one (the reference does not document it; see README, "Restarts lose nothing").
        """
        body = {**_turn_body(input, budget), "stream": True}
        return self._session.events(
            "POST", "api/workers", body, idempotent=False, headers=_key_header(idempotency_key)
        )

    def continue_worker_streaming(
        self,
        worker_id: str,
        input: str,
        *,
        budget: Budget | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Continue a worker with `stream: true` and follow the new turn (`Idempotency-Key` as
        for `create_worker_streaming`: the same key starts no second turn)."""
        body = {**_turn_body(input, budget), "stream": True}
        path = _worker_path(worker_id)
        return self._session.events(
            "POST", path, body, idempotent=False, headers=_key_header(idempotency_key)
        )

    def stream_worker(self, worker_id: str) -> AsyncIterator[StreamEvent]:
        """Subscribe to a worker: replayed history, then the live turn if any, then the end.

        Yields nothing when the server answers 204 (nothing running). Raises
        `StreamStalledError` when the stream stays silent past the idle limit and
        `StreamInterruptedError` when it is cut; either way, `get_worker` has the truth.
        """
        return self._session.events(
            "GET", _worker_path(worker_id) + "/stream", None, idempotent=True
        )

    async def get_email(self, worker_id: str) -> str:
        """The worker's inbound email address (the API returns it as a JSON string)."""
        data = await self._session.json("GET", _worker_path(worker_id) + "/email")
        if isinstance(data, dict):  # later API versions wrap it: {"email": "..."}
            data = data.get("email")
        if not isinstance(data, str) or not data:
            raise APIResponseError(f"expected an email address, got {data!r}")
        return data

    # ---- files --------------------------------------------------------------------------

    def resolve_url(self, url: str) -> httpx.URL:
        """A file URL as the API gave it, made absolute against the API base."""
        return self.base_url.join(url)

    def is_handinger_url(self, url: str) -> bool:
        """True when `url` (absolute or relative) is on the configured Handinger origin."""
        return origin(self.resolve_url(url)) == origin(self.base_url)

    async def download_file_to(
        self, url: str, sink: Sink, *, max_bytes: int, allow_foreign: bool = False
    ) -> Download:
        """Stream a published file into `sink`, stopping as soon as it passes `max_bytes`.

        The API key is sent only to the Handinger origin. A URL elsewhere raises
        `ForeignOriginError` unless `allow_foreign`, and is then fetched without the key.
        """
        target = self.resolve_url(url)
        trusted = origin(target) == origin(self.base_url)
        if not trusted and not allow_foreign:
            raise ForeignOriginError(str(target))
        response = await self._session.send(
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
        data = await self._session.json("GET", _worker_path(worker_id) + "/schedules")
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
        data = await self._session.json("POST", path, body, idempotent=False)
        try:
            return SCHEDULE_ADAPTER.validate_python(data)
        except ValidationError as exc:
            raise APIResponseError(f"unexpected schedule: {exc}") from exc

    async def cancel_schedule(self, worker_id: str, schedule_id: str) -> bool:
        """Cancel a schedule; False when it was unknown or had already run."""
        path = f"{_worker_path(worker_id)}/schedules/{quote(schedule_id, safe='')}"
        data = await self._session.json("DELETE", path)
        return bool(data.get("cancelled")) if isinstance(data, dict) else False


def _worker_path(worker_id: str) -> str:
    return "api/workers/" + quote(worker_id, safe="")


def _key_header(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}


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
