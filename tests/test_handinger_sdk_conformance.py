"""The emulator checked by an independent party: the official SDK `handinger==0.3.0`.

The strict client validates every response against the SDK's generated models, so a wrong
field name or type in the emulator fails here even if our own client would accept it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import handinger
import httpx
import pytest
from handinger import Handinger

from emulators.harness import HANDINGER, Child, running

KEY = "sdk-key"


@pytest.fixture(scope="module")
def emu() -> Iterator[Child]:
    args = ["--port", "0", "--api-key", KEY, "--turn-seconds", "0.3", "--chunks", "5"]
    with running(HANDINGER, args) as server:
        yield server


@pytest.fixture
def strict(emu: Child) -> Iterator[Handinger]:
    httpx.post(f"{emu.url}/_emulator/reset").raise_for_status()
    client = Handinger(
        api_key=KEY,
        base_url=emu.url,
        max_retries=0,
        timeout=15.0,
        _strict_response_validation=True,
    )
    with client:
        yield client


def finished(client: Handinger, worker_id: str, turns: int = 1) -> handinger.types.Worker:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        worker = client.workers.retrieve(worker_id)
        users = [m for m in worker.messages if isinstance(m, dict) and m.get("role") == "user"]
        if worker.status == "completed" and len(users) >= turns:
            return worker
        time.sleep(0.05)
    pytest.fail(f"worker {worker_id} did not finish")


def test_create_continue_retrieve(strict: Handinger) -> None:
    created = strict.workers.create(
        input="What's the weather in Barcelona? [[files=2]]", budget="low"
    )
    assert created.object == "worker" and created.status == "running" and created.running
    assert created.usage is None and created.costs is None
    worker = finished(strict, created.id)
    assert worker.output_text and worker.output[0].content[0].text == worker.output_text
    assert len(worker.sources) == 2 and worker.sources[0].type == "url"
    assert [f.filename for f in worker.files] == ["reports/q3/summary.md", "chart.png"]
    assert worker.usage is not None and worker.usage.duration_ms is not None
    assert worker.usage.credits is not None and worker.costs is not None

    continued = strict.workers.continue_(created.id, input="And tomorrow?", budget="high")
    assert continued.id == created.id and continued.running
    with pytest.raises(handinger.ConflictError) as busy:
        strict.workers.continue_(created.id, input="too soon")
    assert busy.value.body == {"error": "Worker is busy with another turn"}
    again = finished(strict, created.id, turns=2)
    assert again.output_text.startswith("## And tomorrow?")
    assert len(again.messages) == 4


def test_email(strict: Handinger) -> None:
    worker = strict.workers.create(input="mail me")
    address = json.loads(strict.workers.retrieve_email(worker.id))
    assert isinstance(address, str) and "@" in address


def test_retrieve_nested_file(emu: Child, strict: Handinger) -> None:
    worker = finished(strict, strict.workers.create(input="files [[files=1]]").id)
    blob = strict.workers.retrieve_file("reports/q3/summary.md", worker_id=worker.id).read()
    assert b"reports/q3/summary.md" in blob
    log = httpx.get(f"{emu.url}/_emulator/requests").json()
    assert any(e["raw_path"].endswith("/files/reports%2Fq3%2Fsummary.md") for e in log)


def test_schedules_all_types(strict: Handinger) -> None:
    worker = strict.workers.create(input="schedules")
    date = datetime.now(UTC) + timedelta(days=2)
    whens: list[Any] = [
        {"type": "scheduled", "date": date},
        {"type": "delayed", "delay_in_seconds": 120},
        {"type": "cron", "cron": "0 8 * * *"},
        {"type": "interval", "interval_seconds": 60},
    ]
    created = [strict.workers.schedules.create(worker.id, input="ping", when=w) for w in whens]
    assert [s.type for s in created] == ["scheduled", "delayed", "cron", "interval"]
    assert all(s.budget == "standard" for s in created)
    assert abs(created[0].next_run_at.timestamp() - date.timestamp()) < 0.001
    listed = strict.workers.schedules.list(worker.id)
    assert listed.worker_id == worker.id
    assert [s.id for s in listed.schedules] == [s.id for s in created]
    assert strict.workers.schedules.cancel(created[3].id, worker_id=worker.id).cancelled is True
    assert strict.workers.schedules.cancel(created[3].id, worker_id=worker.id).cancelled is False
    with pytest.raises(handinger.UnprocessableEntityError):
        strict.workers.schedules.create(worker.id, input="x", when={"type": "cron", "cron": "bad"})


def test_not_found_error(strict: Handinger) -> None:
    with pytest.raises(handinger.NotFoundError) as caught:
        strict.workers.retrieve("t_org_emu_w_NOPE")
    assert isinstance(caught.value.body, dict) and isinstance(caught.value.body["error"], str)
    with pytest.raises(handinger.AuthenticationError):
        Handinger(api_key="wrong", base_url=str(strict.base_url), max_retries=0).workers.create(
            input="x"
        )


def test_loose_client_consumes_the_stream(emu: Child, strict: Handinger) -> None:
    loose = Handinger(api_key=KEY, base_url=emu.url, max_retries=0, timeout=15.0)
    worker = loose.workers.create(input="stream me [[duration=1.5]]")
    events: list[Any] = list(loose.workers.stream_updates(worker.id))
    assert isinstance(events[0], dict) and events[0]["role"] == "user"
    assert events[-1]["type"] == "finish"
    with loose.workers.with_streaming_response.create(input="raw", stream=True) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert json.loads(lines[0][5:])["type"] == "start"
    assert json.loads(lines[-1][5:])["type"] == "finish"
