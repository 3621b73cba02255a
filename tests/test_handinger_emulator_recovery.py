"""The Handinger emulator's controls for crash windows: `Idempotency-Key` and held responses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.procs import ServerProcess, running
from tests.test_handinger_emulator import create, sse_json, wait_done

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def emu() -> Iterator[ServerProcess]:
    args = ["--port", "0", "--api-key", KEY, "--turn-seconds", "0.3", "--chunks", "6"]
    with running("emulators.handinger", args) as server:
        yield server


@pytest.fixture
def http(emu: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers=AUTH, timeout=15.0) as client:
        assert client.post("/_emulator/reset").status_code == 200
        yield client


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_repeated_create_with_its_key_returns_the_same_worker(http: httpx.Client) -> None:
    first = http.post("/api/workers", json={"input": "once"}, headers=keyed("k1"))
    again = http.post("/api/workers", json={"input": "once"}, headers=keyed("k1"))
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(http.get("/_emulator/workers").json()) == 1
    other = http.post("/api/workers", json={"input": "once"}, headers=keyed("k2"))
    assert other.json()["id"] != first.json()["id"]
    unkeyed = create(http, "once")
    assert len({first.json()["id"], other.json()["id"], unkeyed["id"]}) == 3
    keys = [e["idempotency_key"] for e in http.get("/_emulator/requests").json()]
    assert keys == ["k1", "k1", "k2", None]


def test_a_streamed_create_replays_the_same_turn_from_its_start(http: httpx.Client) -> None:
    body = {"input": "streamed once", "stream": True}
    with http.stream("POST", "/api/workers", json=body, headers=keyed("s1")) as first:
        frames = sse_json(first)
    with http.stream("POST", "/api/workers", json=body, headers=keyed("s1")) as again:
        assert again.headers["Idempotent-Replayed"] == "true"
        replayed = sse_json(again)
    worker_id = frames[0]["messageMetadata"]["workerId"]
    assert replayed[0]["messageMetadata"]["workerId"] == worker_id
    assert [f["type"] for f in replayed] == [f["type"] for f in frames]
    [worker] = http.get("/_emulator/workers").json()
    assert worker["turns"] == 1


def test_the_same_key_with_another_body_is_refused(http: httpx.Client) -> None:
    http.post("/api/workers", json={"input": "first"}, headers=keyed("k"))
    clash = http.post("/api/workers", json={"input": "second"}, headers=keyed("k"))
    assert clash.status_code == 422 and "different request" in clash.json()["error"]
    too_long = http.post("/api/workers", json={"input": "x"}, headers=keyed("k" * 256))
    assert too_long.status_code == 400
    assert len(http.get("/_emulator/workers").json()) == 1


def test_a_continue_with_its_key_starts_one_turn(http: httpx.Client) -> None:
    worker = create(http, "start")
    wait_done(http, worker["id"])
    path = f"/api/workers/{worker['id']}"
    body = {"input": "more [[duration=1]]"}
    first = http.post(path, json=body, headers=keyed("c1"))
    again = http.post(path, json=body, headers=keyed("c1"))  # while the turn runs: no 409
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    busy = http.post(path, json={"input": "other"}, headers=keyed("c2"))
    assert busy.status_code == 409
    wait_done(http, worker["id"], turns=2)
    retried = http.post(path, json={"input": "other"}, headers=keyed("c2"))  # 409 not kept
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    wait_done(http, worker["id"], turns=3)
    [listed] = http.get("/_emulator/workers").json()
    assert listed["inputs"] == ["start", "more [[duration=1]]", "other"]


def test_keys_expire_after_a_day_and_can_be_ignored(http: httpx.Client) -> None:
    first = http.post("/api/workers", json={"input": "old"}, headers=keyed("k"))
    http.post("/_emulator/clock", json={"advance": 24 * 3600 + 1})
    later = http.post("/api/workers", json={"input": "old"}, headers=keyed("k"))
    assert later.json()["id"] != first.json()["id"]
    assert http.post("/_emulator/config", json={"idempotency_keys": False}).status_code == 200
    a = http.post("/api/workers", json={"input": "x"}, headers=keyed("n"))
    b = http.post("/api/workers", json={"input": "x"}, headers=keyed("n"))
    assert a.json()["id"] != b.json()["id"]
    assert len(http.get("/_emulator/workers").json()) == 4


def _in_background(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        result["response"] = call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _held(http: httpx.Client, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        held: list[dict[str, Any]] = http.get("/_emulator/held").json()
        if len(held) >= count:
            return held
        time.sleep(0.02)
    pytest.fail("nothing was held")


def test_a_held_create_acts_at_once_and_answers_when_released(
    emu: ServerProcess, http: httpx.Client
) -> None:
    fault = {"action": "hold", "method": "POST", "path": "^/api/workers$"}
    assert http.post("/_emulator/faults", json=fault).json() == {"ok": True}
    with httpx.Client(base_url=emu.url, headers=AUTH, timeout=15.0) as client:
        thread, result = _in_background(
            lambda: client.post("/api/workers", json={"input": "held [[duration=0.2]]"})
        )
        [held] = _held(http)
        assert held["method"] == "POST" and held["path"] == "/api/workers"
        [worker] = http.get("/_emulator/workers").json()  # it acted already
        wait_done(http, worker["id"])  # and the turn plays on while the response waits
        assert "response" not in result
        assert http.post("/_emulator/release").json() == {"released": 1}
        thread.join(10)
    assert result["response"].status_code == 200
    assert result["response"].json()["id"] == worker["id"]
    assert http.get("/_emulator/held").json() == []


def test_a_held_stream_sends_nothing_until_released(emu: ServerProcess, http: httpx.Client) -> None:
    http.post("/_emulator/faults", json={"action": "hold", "path": "^/api/workers$"})
    body = {"input": "held stream", "stream": True}

    def call() -> list[Any]:
        with (
            httpx.Client(base_url=emu.url, headers=AUTH, timeout=15.0) as client,
            client.stream("POST", "/api/workers", json=body) as response,
        ):
            return sse_json(response)

    thread, result = _in_background(call)
    _held(http)
    [worker] = http.get("/_emulator/workers").json()
    wait_done(http, worker["id"])
    assert "response" not in result
    http.post("/_emulator/release")
    thread.join(10)
    frames = result["response"]
    assert frames[0]["type"] == "start" and frames[-1]["type"] == "finish"


def test_release_counts_and_reset_releases_everything(
    emu: ServerProcess, http: httpx.Client
) -> None:
    assert http.post("/_emulator/release", json={"count": 0}).status_code == 400
    assert http.post("/_emulator/faults", json={"action": "explode"}).status_code == 400
    assert http.post("/_emulator/release").json() == {"released": 0}
    http.post("/_emulator/faults", json={"action": "hold", "count": 2, "path": "^/api/workers$"})
    with httpx.Client(base_url=emu.url, headers=AUTH, timeout=15.0) as client:
        calls = [
            _in_background(lambda: client.post("/api/workers", json={"input": "one"})),
            _in_background(lambda: client.post("/api/workers", json={"input": "two"})),
        ]
        _held(http, 2)
        assert http.post("/_emulator/release", json={"count": 1}).json() == {"released": 1}
        assert len(http.get("/_emulator/held").json()) == 1
        http.post("/_emulator/reset")
        for thread, result in calls:
            thread.join(10)
            assert result["response"].status_code == 200
    assert http.get("/_emulator/held").json() == []
