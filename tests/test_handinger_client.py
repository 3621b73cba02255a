"""The Handinger client against the Handinger emulator, over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
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
from tests.handinger_helpers import KEY, RecordingSleep, download, fault, requests, until_done
from tests.procs import ServerProcess, running


@pytest.fixture(scope="module")
def emulator() -> Iterator[ServerProcess]:
    args = ["--port", "0", "--api-key", KEY, "--turn-seconds", "0.4", "--chunks", "12"]
    with running("emulators.handinger", args) as server:
        yield server


@pytest.fixture
def control(emulator: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        http.post("/_emulator/reset").raise_for_status()
        yield http


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def client(
    emulator: ServerProcess, control: httpx.Client, sleeps: RecordingSleep
) -> AsyncIterator[HandingerClient]:
    async with HandingerClient(
        KEY, emulator.url, stream_idle_timeout=5.0, sleep=sleeps, max_retries=2
    ) as c:
        yield c


def configure(control: httpx.Client, **config: Any) -> None:
    control.post("/_emulator/config", json=config).raise_for_status()


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


async def test_create_continue_and_retrieve(client: HandingerClient, control: httpx.Client) -> None:
    worker = await client.create_worker("Summarise the week", budget="low")
    assert worker.id and worker.is_running
    done = await until_done(client, worker.id)
    assert done.status == "completed" and done.text
    assert done.usage is not None and done.usage.total_tokens
    assert done.sources and all(s.url.startswith("https://") for s in done.sources)

    again = await client.continue_worker(worker.id, "And next week?")
    assert again.id == worker.id
    second = await until_done(client, worker.id)
    assert second.text and second.text != done.text
    [emulated] = control.get("/_emulator/workers").json()
    assert emulated["turns"] == 2
    [first_post] = requests(control, "POST", "/api/workers")[:1]
    assert first_post["body"] == {"input": "Summarise the week", "budget": "low"}


async def test_continue_while_busy_is_a_conflict_not_retried(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker = await client.create_worker("slow one [[slow]]")
    with pytest.raises(ConflictError) as info:
        await client.continue_worker(worker.id, "more")
    assert info.value.status_code == 409 and info.value.message
    assert len(requests(control, "POST", f"/api/workers/{worker.id}")) == 1


async def test_blocking_create_returns_the_finished_worker(
    client: HandingerClient, control: httpx.Client
) -> None:
    configure(control, blocking=True)
    worker = await client.create_worker("wait for it")
    assert not worker.is_running and worker.text


# ---- streams --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ai-sdk", "worker", "responses"])
@pytest.mark.parametrize("sentinel", [False, True])
async def test_streaming_create_in_every_format(
    client: HandingerClient, control: httpx.Client, fmt: str, sentinel: bool
) -> None:
    configure(control, stream_format=fmt, done_sentinel=sentinel)
    events = await collect(client.create_worker_streaming("Stream me please"))
    first = events[0]
    worker_id = first.worker_id if isinstance(first, Started) else None
    if isinstance(first, Snapshot):
        worker_id = first.worker.id
    assert worker_id, f"first event carries no worker id: {first!r}"
    assert isinstance(events[-1], Finished)
    deltas = [e for e in events if isinstance(e, TextDelta | Snapshot)]
    assert len(deltas) >= 3  # it really streamed in pieces
    assert any(isinstance(e, StepProgress) for e in events) or fmt == "worker"
    final = await until_done(client, worker_id)
    assert text_of(events) == final.text


@pytest.mark.parametrize("fmt", ["ai-sdk", "worker", "responses"])
async def test_stream_replays_then_tails_the_live_turn(
    client: HandingerClient, control: httpx.Client, fmt: str
) -> None:
    configure(control, stream_format=fmt)
    worker = await client.create_worker("first turn")
    await until_done(client, worker.id)
    await client.continue_worker(worker.id, "second turn [[duration=1.0]]")
    events = await collect(client.stream_worker(worker.id))
    final = await until_done(client, worker.id)
    live = events
    if fmt != "worker":
        assert any(e.__class__.__name__ == "HistoryMessage" for e in events)
        live = [e for e in events if e.__class__.__name__ != "HistoryMessage"]
    assert text_of(live) == final.text
    assert isinstance(events[-1], Finished)


@pytest.mark.parametrize("fmt", ["ai-sdk", "worker", "responses"])
async def test_failed_turn_in_every_format(
    client: HandingerClient, control: httpx.Client, fmt: str
) -> None:
    configure(control, stream_format=fmt)
    events = await collect(client.create_worker_streaming("this will [[fail]]"))
    failures = [e for e in events if isinstance(e, Failed)]
    assert failures and failures[-1].message
    assert not any(isinstance(e, Finished) for e in events)


async def test_idle_stream_204_yields_nothing(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker = await client.create_worker("quick")
    await until_done(client, worker.id)
    configure(control, idle_stream="204")
    assert await collect(client.stream_worker(worker.id)) == []


async def test_cut_stream_raises_and_the_answer_survives(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker = await client.create_worker("cut me [[duration=1.0]]")
    control.post("/_emulator/stream-faults", json={"cut_after": 3}).raise_for_status()
    seen: list[StreamEvent] = []
    with pytest.raises(StreamInterruptedError):
        async for event in client.stream_worker(worker.id):
            seen.append(event)
    assert 0 < len(seen) <= 3
    final = await until_done(client, worker.id)
    assert final.text and len(final.text) > len(text_of(seen))


async def test_stalled_stream_ends_with_an_error_not_a_hang(
    emulator: ServerProcess, control: httpx.Client
) -> None:
    async with HandingerClient(KEY, emulator.url, stream_idle_timeout=0.3) as client:
        worker = await client.create_worker("stall [[duration=1.0]]")
        spec = {"stall_after": 2, "stall_seconds": 3}
        control.post("/_emulator/stream-faults", json=spec).raise_for_status()
        with pytest.raises(StreamStalledError):
            await collect(client.stream_worker(worker.id))
        assert (await until_done(client, worker.id)).text


async def test_unknown_worker_stream_is_not_found(client: HandingerClient) -> None:
    with pytest.raises(NotFoundError):
        await collect(client.stream_worker("t_org_emu_w_NOPE"))


# ---- errors and retries ---------------------------------------------------------------------


async def test_error_classes_carry_the_server_message(
    emulator: ServerProcess, client: HandingerClient
) -> None:
    async with HandingerClient("wrong-key", emulator.url) as bad:
        with pytest.raises(AuthenticationError) as auth:
            await bad.get_worker("anything")
    assert auth.value.status_code == 401 and auth.value.message
    with pytest.raises(NotFoundError) as missing:
        await client.get_worker("t_org_emu_w_MISSING")
    assert missing.value.message and "{" not in missing.value.message
    with pytest.raises(BadRequestError):
        await client.create_worker("   ")
    with pytest.raises(UnprocessableEntityError):
        await client.create_worker("x", budget="gigantic")  # type: ignore[arg-type]


async def test_permission_denied_and_exhausted_retries(
    client: HandingerClient, control: httpx.Client, sleeps: RecordingSleep
) -> None:
    fault(control, status=403, count=1, error="no access to this worker")
    with pytest.raises(PermissionDeniedError, match="no access"):
        await client.get_worker("w")
    fault(control, status=502, count=5, method="GET")
    with pytest.raises(InternalServerError) as info:
        await client.get_worker("w")
    assert info.value.status_code == 502
    assert len(sleeps.delays) == 2  # max_retries
    assert all(0 < d <= 8 for d in sleeps.delays)


async def test_create_retries_429_and_503_honouring_retry_after(
    client: HandingerClient, control: httpx.Client, sleeps: RecordingSleep
) -> None:
    fault(control, status=429, count=1, retry_after="1", method="POST")
    fault(control, status=503, count=1, retry_after="2", method="POST")
    worker = await client.create_worker("persist")
    assert sleeps.delays == [1.0, 2.0]
    assert len(control.get("/_emulator/workers").json()) == 1
    posts = requests(control, "POST", "/api/workers")
    assert [p["status"] for p in posts] == [429, 503, 200]
    assert worker.id


async def test_retry_after_as_http_date_and_beyond_the_cap(
    client: HandingerClient, control: httpx.Client, sleeps: RecordingSleep
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    fault(control, status=429, count=1, retry_after=when, method="GET")
    fault(control, status=429, count=1, retry_after="3600", method="GET")
    with pytest.raises(NotFoundError):
        await client.get_worker("t_org_emu_w_NONE")
    assert 3 <= sleeps.delays[0] <= 5  # from the date
    assert sleeps.delays[1] <= 8  # an hour is ignored: plain backoff instead


async def test_create_is_not_repeated_after_an_ambiguous_failure(
    client: HandingerClient, control: httpx.Client
) -> None:
    fault(control, status=500, count=1, method="POST")
    with pytest.raises(InternalServerError):
        await client.create_worker("maybe created")
    fault(control, action="close", count=1, method="POST")
    with pytest.raises(APIConnectionError) as info:
        await client.create_worker("maybe created")
    assert not info.value.certainly_not_sent
    assert len(requests(control, "POST", "/api/workers")) == 2
    assert control.get("/_emulator/workers").json() == []


async def test_reads_are_repeated_after_a_dropped_connection(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker = await client.create_worker("hello")
    fault(control, action="close", count=1, method="GET")
    assert (await client.get_worker(worker.id)).id == worker.id


async def test_refused_connection_is_retried_even_for_create(sleeps: RecordingSleep) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with HandingerClient(KEY, f"http://127.0.0.1:{port}", sleep=sleeps) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.create_worker("nobody home")
    assert info.value.certainly_not_sent
    assert len(sleeps.delays) == 2


# ---- email and files ------------------------------------------------------------------------


async def test_email_is_a_plain_address(client: HandingerClient) -> None:
    worker = await client.create_worker("mail me")
    email = await client.get_email(worker.id)
    assert "@" in email and not email.startswith('"')


async def test_files_download_with_nested_paths(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker = await until_done(client, (await client.create_worker("report [[files=2]]")).id)
    by_name = {f.filename or f.url.rsplit("/", 1)[-1]: f for f in worker.files}
    nested = next(f for f in worker.files if "reports/q3/summary.md" in f.url)
    data, media_type = await download(client, nested.url, max_bytes=1_000_000)
    assert data and media_type == "text/markdown"
    png = next(f for f in worker.files if f.url.endswith("chart.png"))
    blob, png_type = await download(client, png.url, max_bytes=1_000_000)
    assert blob.startswith(b"\x89PNG") and png_type == "image/png"
    assert len(by_name) == 2
    absolute = str(client.base_url.join(f"api/workers/{worker.id}/files/reports/q3/summary.md"))
    same, _ = await download(client, absolute, max_bytes=1_000_000)
    encoded = f"/api/workers/{worker.id}/files/reports%2Fq3%2Fsummary.md"
    also, _ = await download(client, encoded, max_bytes=1_000_000)
    assert same == data == also
    downloads = requests(control, "GET", f"/api/workers/{worker.id}/files/")
    assert downloads and all(r["authorization"] == "valid" for r in downloads)


async def test_file_size_cap(client: HandingerClient) -> None:
    worker = await until_done(client, (await client.create_worker("[[filesize=300000]]")).id)
    [big] = [f for f in worker.files if f.url.endswith("big.bin")]
    with pytest.raises(FileTooLargeError):
        await download(client, big.url, max_bytes=100_000)
    data, _ = await download(client, big.url, max_bytes=300_000)
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
    async with HandingerClient(KEY, "https://h.example", transport=transport) as client:
        with pytest.raises(FileTooLargeError):
            await download(client, "/api/workers/w/files/a.txt", max_bytes=10_000)
    assert pulled < 20 * 1024


async def test_key_only_goes_to_the_handinger_origin(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker = await until_done(client, (await client.create_worker("x [[foreign-file]]")).id)
    [foreign] = [f for f in worker.files if "/_foreign/" in f.url]
    assert not client.is_handinger_url(foreign.url)
    with pytest.raises(ForeignOriginError):
        await download(client, foreign.url, max_bytes=1000)
    assert requests(control, path="/_foreign/") == []
    data, _ = await download(client, foreign.url, max_bytes=1000, allow_foreign=True)
    assert data
    hits = requests(control, path="/_foreign/")
    assert hits and all(r["authorization"] == "none" for r in hits)


async def test_relative_file_urls_resolve_against_the_base(client: HandingerClient) -> None:
    worker = await until_done(
        client, (await client.create_worker("[[files=1]] [[relative-files]]")).id
    )
    [file] = worker.files
    assert file.url.startswith("/")
    assert client.is_handinger_url(file.url)
    data, _ = await download(client, file.url, max_bytes=100_000)
    assert data


# ---- schedules ------------------------------------------------------------------------------


async def test_schedules_of_every_type(client: HandingerClient, control: httpx.Client) -> None:
    worker = await until_done(client, (await client.create_worker("digest")).id)
    in_a_day = datetime.now(UTC) + timedelta(days=1)
    made = [
        await client.create_schedule(worker.id, "once", ScheduledWhen(date=in_a_day)),
        await client.create_schedule(worker.id, "later", DelayedWhen(delay_in_seconds=600)),
        await client.create_schedule(
            worker.id, "weekdays", CronWhen(cron="0 9 * * 1-5"), budget="low"
        ),
        await client.create_schedule(worker.id, "hourly", IntervalWhen(interval_seconds=3600)),
    ]
    assert [s.type for s in made] == ["scheduled", "delayed", "cron", "interval"]
    assert all(s.next_run_at is not None for s in made)
    assert made[2].budget == "low" and getattr(made[2], "cron", None) == "0 9 * * 1-5"
    listed = await client.list_schedules(worker.id)
    assert {s.id for s in listed} == {s.id for s in made}
    assert await client.cancel_schedule(worker.id, made[1].id) is True
    assert await client.cancel_schedule(worker.id, made[1].id) is False
    assert len(await client.list_schedules(worker.id)) == 3
    with pytest.raises(UnprocessableEntityError):
        await client.create_schedule(worker.id, "bad", CronWhen(cron="61 * * * *"))
    body = requests(control, "POST", f"/api/workers/{worker.id}/schedules")[1]["body"]
    assert body["when"] == {"type": "delayed", "delayInSeconds": 600}


async def test_an_interval_schedule_fires_a_new_turn(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker = await until_done(client, (await client.create_worker("digest")).id)
    schedule = await client.create_schedule(worker.id, "tick", IntervalWhen(interval_seconds=60))
    control.post("/_emulator/clock", json={"advance": 61}).raise_for_status()
    for _ in range(200):
        turns = control.get("/_emulator/workers").json()[0]["turns"]
        if turns == 2:
            break
        await asyncio.sleep(0.05)
    assert turns == 2
    await until_done(client, worker.id)
    [again] = await client.list_schedules(worker.id)
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
