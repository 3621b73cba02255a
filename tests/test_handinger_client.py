"""The Handinger client against the Handinger emulator, over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from bot.handinger import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CronWhen,
    DelayedWhen,
    Failed,
    Finished,
    ForeignOriginError,
    HandingerClient,
    InternalServerError,
    IntervalWhen,
    NotFoundError,
    PermissionDeniedError,
    ScheduledWhen,
    Snapshot,
    Started,
    StepProgress,
    StreamEvent,
    StreamInterruptedError,
    StreamStalledError,
    TextDelta,
    UnprocessableEntityError,
)
from bot.handinger.errors import FileTooLargeError
from emulators.credentials import HANDINGER_KEY
from emulators.harness import Child
from tests.handinger_helpers import RecordingSleep, download, fault, requests, until_done

HANDINGER_ARGS = ["--turn-seconds", "0.4", "--chunks", "12"]


def configure(handinger_control: httpx.Client, **config: Any) -> None:
    handinger_control.post("/_emulator/config", json=config).raise_for_status()


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


def text_of(events: list[StreamEvent]) -> str:
    """What a relay would show: deltas appended, snapshots replacing."""
    text = ""
    for event in events:
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, Snapshot):
            text = event.worker.text
    return text


# ---- workers --------------------------------------------------------------------------------


async def test_create_continue_and_retrieve(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await handinger_client.create_worker("Summarise the week", budget="low")
    assert worker.id and worker.is_running
    done = await until_done(handinger_client, worker.id)
    assert done.status == "completed" and done.text
    assert done.usage is not None and done.usage.total_tokens
    assert done.sources and all(s.url.startswith("https://") for s in done.sources)

    again = await handinger_client.continue_worker(worker.id, "And next week?")
    assert again.id == worker.id
    second = await until_done(handinger_client, worker.id)
    assert second.text and second.text != done.text
    [emulated] = handinger_control.get("/_emulator/workers").json()
    assert emulated["turns"] == 2
    [first_post] = requests(handinger_control, "POST", "/api/workers")[:1]
    assert first_post["body"] == {"input": "Summarise the week", "budget": "low"}


async def test_continue_while_busy_is_a_conflict_not_retried(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await handinger_client.create_worker("slow one [[slow]]")
    with pytest.raises(ConflictError) as info:
        await handinger_client.continue_worker(worker.id, "more")
    assert info.value.status_code == 409 and info.value.message
    assert len(requests(handinger_control, "POST", f"/api/workers/{worker.id}")) == 1


async def test_blocking_create_returns_the_finished_worker(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    configure(handinger_control, blocking=True)
    worker = await handinger_client.create_worker("wait for it")
    assert not worker.is_running and worker.text


# ---- streams --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ai-sdk", "worker", "responses"])
@pytest.mark.parametrize("sentinel", [False, True])
async def test_streaming_create_in_every_format(
    handinger_client: HandingerClient, handinger_control: httpx.Client, fmt: str, sentinel: bool
) -> None:
    configure(handinger_control, stream_format=fmt, done_sentinel=sentinel)
    events = await collect(handinger_client.create_worker_streaming("Stream me please"))
    first = events[0]
    worker_id = first.worker_id if isinstance(first, Started) else None
    if isinstance(first, Snapshot):
        worker_id = first.worker.id
    assert worker_id, f"first event carries no worker id: {first!r}"
    assert isinstance(events[-1], Finished)
    deltas = [e for e in events if isinstance(e, TextDelta | Snapshot)]
    assert len(deltas) >= 3  # it really streamed in pieces
    assert any(isinstance(e, StepProgress) for e in events) or fmt == "worker"
    final = await until_done(handinger_client, worker_id)
    assert text_of(events) == final.text


@pytest.mark.parametrize("fmt", ["ai-sdk", "worker", "responses"])
async def test_stream_replays_then_tails_the_live_turn(
    handinger_client: HandingerClient, handinger_control: httpx.Client, fmt: str
) -> None:
    configure(handinger_control, stream_format=fmt)
    worker = await handinger_client.create_worker("first turn")
    await until_done(handinger_client, worker.id)
    await handinger_client.continue_worker(worker.id, "second turn [[duration=1.0]]")
    events = await collect(handinger_client.stream_worker(worker.id))
    final = await until_done(handinger_client, worker.id)
    live = events
    if fmt != "worker":
        assert any(e.__class__.__name__ == "HistoryMessage" for e in events)
        live = [e for e in events if e.__class__.__name__ != "HistoryMessage"]
    assert text_of(live) == final.text
    assert isinstance(events[-1], Finished)


@pytest.mark.parametrize("fmt", ["ai-sdk", "worker", "responses"])
async def test_failed_turn_in_every_format(
    handinger_client: HandingerClient, handinger_control: httpx.Client, fmt: str
) -> None:
    configure(handinger_control, stream_format=fmt)
    events = await collect(handinger_client.create_worker_streaming("this will [[fail]]"))
    failures = [e for e in events if isinstance(e, Failed)]
    assert failures and failures[-1].message
    assert not any(isinstance(e, Finished) for e in events)


async def test_idle_stream_204_yields_nothing(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await handinger_client.create_worker("quick")
    await until_done(handinger_client, worker.id)
    configure(handinger_control, idle_stream="204")
    assert await collect(handinger_client.stream_worker(worker.id)) == []


async def test_cut_stream_raises_and_the_answer_survives(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await handinger_client.create_worker("cut me [[duration=1.0]]")
    handinger_control.post("/_emulator/stream-faults", json={"cut_after": 3}).raise_for_status()
    seen: list[StreamEvent] = []
    with pytest.raises(StreamInterruptedError):
        async for event in handinger_client.stream_worker(worker.id):
            seen.append(event)
    assert 0 < len(seen) <= 3
    final = await until_done(handinger_client, worker.id)
    assert final.text and len(final.text) > len(text_of(seen))


async def test_stalled_stream_ends_with_an_error_not_a_hang(
    handinger_emulator: Child, handinger_control: httpx.Client
) -> None:
    async with HandingerClient(
        HANDINGER_KEY, handinger_emulator.url, stream_idle_timeout=0.3
    ) as handinger_client:
        worker = await handinger_client.create_worker("stall [[duration=1.0]]")
        spec = {"stall_after": 2, "stall_seconds": 3}
        handinger_control.post("/_emulator/stream-faults", json=spec).raise_for_status()
        with pytest.raises(StreamStalledError):
            await collect(handinger_client.stream_worker(worker.id))
        assert (await until_done(handinger_client, worker.id)).text


async def test_unknown_worker_stream_is_not_found(handinger_client: HandingerClient) -> None:
    with pytest.raises(NotFoundError):
        await collect(handinger_client.stream_worker("t_org_emu_w_NOPE"))


# ---- errors and retries ---------------------------------------------------------------------


async def test_error_classes_carry_the_server_message(
    handinger_emulator: Child, handinger_client: HandingerClient
) -> None:
    async with HandingerClient("wrong-key", handinger_emulator.url) as bad:
        with pytest.raises(AuthenticationError) as auth:
            await bad.get_worker("anything")
    assert auth.value.status_code == 401 and auth.value.message
    with pytest.raises(NotFoundError) as missing:
        await handinger_client.get_worker("t_org_emu_w_MISSING")
    assert missing.value.message and "{" not in missing.value.message
    with pytest.raises(BadRequestError):
        await handinger_client.create_worker("   ")
    with pytest.raises(UnprocessableEntityError):
        await handinger_client.create_worker("x", budget="gigantic")  # type: ignore[arg-type]


async def test_permission_denied_and_exhausted_retries(
    handinger_client: HandingerClient, handinger_control: httpx.Client, sleeps: RecordingSleep
) -> None:
    fault(handinger_control, status=403, count=1, error="no access to this worker")
    with pytest.raises(PermissionDeniedError, match="no access"):
        await handinger_client.get_worker("w")
    fault(handinger_control, status=502, count=5, method="GET")
    with pytest.raises(InternalServerError) as info:
        await handinger_client.get_worker("w")
    assert info.value.status_code == 502
    assert len(sleeps.delays) == 2  # max_retries
    assert all(0 < d <= 8 for d in sleeps.delays)


async def test_create_retries_429_and_503_honouring_retry_after(
    handinger_client: HandingerClient, handinger_control: httpx.Client, sleeps: RecordingSleep
) -> None:
    fault(handinger_control, status=429, count=1, retry_after="1", method="POST")
    fault(handinger_control, status=503, count=1, retry_after="2", method="POST")
    worker = await handinger_client.create_worker("persist")
    assert sleeps.delays == [1.0, 2.0]
    assert len(handinger_control.get("/_emulator/workers").json()) == 1
    posts = requests(handinger_control, "POST", "/api/workers")
    assert [p["status"] for p in posts] == [429, 503, 200]
    assert worker.id


async def test_retry_after_as_http_date_and_beyond_the_cap(
    handinger_client: HandingerClient, handinger_control: httpx.Client, sleeps: RecordingSleep
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    fault(handinger_control, status=429, count=1, retry_after=when, method="GET")
    fault(handinger_control, status=429, count=1, retry_after="3600", method="GET")
    with pytest.raises(NotFoundError):
        await handinger_client.get_worker("t_org_emu_w_NONE")
    assert 3 <= sleeps.delays[0] <= 5  # from the date
    assert sleeps.delays[1] <= 8  # an hour is ignored: plain backoff instead


async def test_create_is_not_repeated_after_an_ambiguous_failure(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    fault(handinger_control, status=500, count=1, method="POST")
    with pytest.raises(InternalServerError):
        await handinger_client.create_worker("maybe created")
    fault(handinger_control, action="close", count=1, method="POST")
    with pytest.raises(APIConnectionError) as info:
        await handinger_client.create_worker("maybe created")
    assert not info.value.certainly_not_sent
    assert len(requests(handinger_control, "POST", "/api/workers")) == 2
    assert handinger_control.get("/_emulator/workers").json() == []


async def test_reads_are_repeated_after_a_dropped_connection(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await handinger_client.create_worker("hello")
    fault(handinger_control, action="close", count=1, method="GET")
    assert (await handinger_client.get_worker(worker.id)).id == worker.id


async def test_refused_connection_is_retried_even_for_create(sleeps: RecordingSleep) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with HandingerClient(
        HANDINGER_KEY, f"http://127.0.0.1:{port}", sleep=sleeps
    ) as handinger_client:
        with pytest.raises(APIConnectionError) as info:
            await handinger_client.create_worker("nobody home")
    assert info.value.certainly_not_sent
    assert len(sleeps.delays) == 2


# ---- email and files ------------------------------------------------------------------------


async def test_email_is_a_plain_address(handinger_client: HandingerClient) -> None:
    worker = await handinger_client.create_worker("mail me")
    email = await handinger_client.get_email(worker.id)
    assert "@" in email and not email.startswith('"')


async def test_files_download_with_nested_paths(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await until_done(
        handinger_client, (await handinger_client.create_worker("report [[files=2]]")).id
    )
    by_name = {f.filename or f.url.rsplit("/", 1)[-1]: f for f in worker.files}
    nested = next(f for f in worker.files if "reports/q3/summary.md" in f.url)
    data, media_type = await download(handinger_client, nested.url, max_bytes=1_000_000)
    assert data and media_type == "text/markdown"
    png = next(f for f in worker.files if f.url.endswith("chart.png"))
    blob, png_type = await download(handinger_client, png.url, max_bytes=1_000_000)
    assert blob.startswith(b"\x89PNG") and png_type == "image/png"
    assert len(by_name) == 2
    absolute = str(
        handinger_client.base_url.join(f"api/workers/{worker.id}/files/reports/q3/summary.md")
    )
    same, _ = await download(handinger_client, absolute, max_bytes=1_000_000)
    encoded = f"/api/workers/{worker.id}/files/reports%2Fq3%2Fsummary.md"
    also, _ = await download(handinger_client, encoded, max_bytes=1_000_000)
    assert same == data == also
    downloads = requests(handinger_control, "GET", f"/api/workers/{worker.id}/files/")
    assert downloads and all(r["authorization"] == "valid" for r in downloads)


async def test_file_size_cap(handinger_client: HandingerClient) -> None:
    worker = await until_done(
        handinger_client, (await handinger_client.create_worker("[[filesize=300000]]")).id
    )
    [big] = [f for f in worker.files if f.url.endswith("big.bin")]
    with pytest.raises(FileTooLargeError):
        await download(handinger_client, big.url, max_bytes=100_000)
    data, _ = await download(handinger_client, big.url, max_bytes=300_000)
    assert len(data) == 300_000


async def test_size_cap_is_enforced_while_streaming() -> None:
    """A body without Content-Length is cut as soon as it passes the cap, not read to the end."""
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1000):
            pulled += 1024
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-type": "text/plain"})

    transport = httpx.MockTransport(handler)
    async with HandingerClient(
        HANDINGER_KEY, "https://h.example", transport=transport
    ) as handinger_client:
        with pytest.raises(FileTooLargeError):
            await download(handinger_client, "/api/workers/w/files/a.txt", max_bytes=10_000)
    assert pulled < 20 * 1024


async def test_key_only_goes_to_the_handinger_origin(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await until_done(
        handinger_client, (await handinger_client.create_worker("x [[foreign-file]]")).id
    )
    [foreign] = [f for f in worker.files if "/_foreign/" in f.url]
    assert not handinger_client.is_handinger_url(foreign.url)
    with pytest.raises(ForeignOriginError):
        await download(handinger_client, foreign.url, max_bytes=1000)
    assert requests(handinger_control, path="/_foreign/") == []
    data, _ = await download(handinger_client, foreign.url, max_bytes=1000, allow_foreign=True)
    assert data
    hits = requests(handinger_control, path="/_foreign/")
    assert hits and all(r["authorization"] == "none" for r in hits)


async def test_relative_file_urls_resolve_against_the_base(
    handinger_client: HandingerClient,
) -> None:
    worker = await until_done(
        handinger_client,
        (await handinger_client.create_worker("[[files=1]] [[relative-files]]")).id,
    )
    [file] = worker.files
    assert file.url.startswith("/")
    assert handinger_client.is_handinger_url(file.url)
    data, _ = await download(handinger_client, file.url, max_bytes=100_000)
    assert data


# ---- schedules ------------------------------------------------------------------------------


async def test_schedules_of_every_type(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await until_done(handinger_client, (await handinger_client.create_worker("digest")).id)
    in_a_day = datetime.now(UTC) + timedelta(days=1)
    made = [
        await handinger_client.create_schedule(worker.id, "once", ScheduledWhen(date=in_a_day)),
        await handinger_client.create_schedule(
            worker.id, "later", DelayedWhen(delay_in_seconds=600)
        ),
        await handinger_client.create_schedule(
            worker.id, "weekdays", CronWhen(cron="0 9 * * 1-5"), budget="low"
        ),
        await handinger_client.create_schedule(
            worker.id, "hourly", IntervalWhen(interval_seconds=3600)
        ),
    ]
    assert [s.type for s in made] == ["scheduled", "delayed", "cron", "interval"]
    assert all(s.next_run_at is not None for s in made)
    assert made[2].budget == "low" and getattr(made[2], "cron", None) == "0 9 * * 1-5"
    listed = await handinger_client.list_schedules(worker.id)
    assert {s.id for s in listed} == {s.id for s in made}
    assert await handinger_client.cancel_schedule(worker.id, made[1].id) is True
    assert await handinger_client.cancel_schedule(worker.id, made[1].id) is False
    assert len(await handinger_client.list_schedules(worker.id)) == 3
    with pytest.raises(UnprocessableEntityError):
        await handinger_client.create_schedule(worker.id, "bad", CronWhen(cron="61 * * * *"))
    body = requests(handinger_control, "POST", f"/api/workers/{worker.id}/schedules")[1]["body"]
    assert body["when"] == {"type": "delayed", "delayInSeconds": 600}


async def test_an_interval_schedule_fires_a_new_turn(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker = await until_done(handinger_client, (await handinger_client.create_worker("digest")).id)
    schedule = await handinger_client.create_schedule(
        worker.id, "tick", IntervalWhen(interval_seconds=60)
    )
    handinger_control.post("/_emulator/clock", json={"advance": 61}).raise_for_status()
    for _ in range(200):
        turns = handinger_control.get("/_emulator/workers").json()[0]["turns"]
        if turns == 2:
            break
        await asyncio.sleep(0.05)
    assert turns == 2
    await until_done(handinger_client, worker.id)
    [again] = await handinger_client.list_schedules(worker.id)
    assert again.id == schedule.id and again.next_run_at and schedule.next_run_at
    assert again.next_run_at > schedule.next_run_at


def test_schedule_when_validates_before_any_request() -> None:
    with pytest.raises(ValueError):
        DelayedWhen(delay_in_seconds=0)
    with pytest.raises(ValueError):
        IntervalWhen(interval_seconds=31_536_001)
    dumped = ScheduledWhen(date=datetime(2026, 12, 1, 9, 0)).model_dump(mode="json")
    assert dumped == {"type": "scheduled", "date": "2026-12-01T09:00:00.000Z"}
    assert json.dumps(dumped)
