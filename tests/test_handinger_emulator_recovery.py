"""The Handinger emulator's controls for crash windows: `Idempotency-Key` and held responses."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from emulators.credentials import HANDINGER_KEY
from emulators.harness import Child
from tests.handinger_api import create, sse_json, wait_done

AUTH = {"Authorization": f"Bearer {HANDINGER_KEY}"}


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_repeated_create_with_its_key_returns_the_same_worker(
    handinger_api: httpx.Client,
) -> None:
    first = handinger_api.post("/api/workers", json={"input": "once"}, headers=keyed("k1"))
    again = handinger_api.post("/api/workers", json={"input": "once"}, headers=keyed("k1"))
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(handinger_api.get("/_emulator/workers").json()) == 1
    other = handinger_api.post("/api/workers", json={"input": "once"}, headers=keyed("k2"))
    assert other.json()["id"] != first.json()["id"]
    unkeyed = create(handinger_api, "once")
    assert len({first.json()["id"], other.json()["id"], unkeyed["id"]}) == 3
    keys = [e["idempotency_key"] for e in handinger_api.get("/_emulator/requests").json()]
    assert keys == ["k1", "k1", "k2", None]


def test_a_streamed_create_replays_the_same_turn_from_its_start(
    handinger_api: httpx.Client,
) -> None:
    body = {"input": "streamed once", "stream": True}
    with handinger_api.stream("POST", "/api/workers", json=body, headers=keyed("s1")) as first:
        frames = sse_json(first)
    with handinger_api.stream("POST", "/api/workers", json=body, headers=keyed("s1")) as again:
        assert again.headers["Idempotent-Replayed"] == "true"
        replayed = sse_json(again)
    worker_id = frames[0]["messageMetadata"]["workerId"]
    assert replayed[0]["messageMetadata"]["workerId"] == worker_id
    assert [f["type"] for f in replayed] == [f["type"] for f in frames]
    [worker] = handinger_api.get("/_emulator/workers").json()
    assert worker["turns"] == 1


def test_the_same_key_with_another_body_is_refused(handinger_api: httpx.Client) -> None:
    handinger_api.post("/api/workers", json={"input": "first"}, headers=keyed("k"))
    clash = handinger_api.post("/api/workers", json={"input": "second"}, headers=keyed("k"))
    assert clash.status_code == 422 and "different request" in clash.json()["error"]
    too_long = handinger_api.post("/api/workers", json={"input": "x"}, headers=keyed("k" * 256))
    assert too_long.status_code == 400
    assert len(handinger_api.get("/_emulator/workers").json()) == 1


def test_a_continue_with_its_key_starts_one_turn(handinger_api: httpx.Client) -> None:
    worker = create(handinger_api, "start")
    wait_done(handinger_api, worker["id"])
    path = f"/api/workers/{worker['id']}"
    body = {"input": "more [[duration=1]]"}
    first = handinger_api.post(path, json=body, headers=keyed("c1"))
    again = handinger_api.post(path, json=body, headers=keyed("c1"))  # while the turn runs: no 409
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    busy = handinger_api.post(path, json={"input": "other"}, headers=keyed("c2"))
    assert busy.status_code == 409
    wait_done(handinger_api, worker["id"], turns=2)
    retried = handinger_api.post(path, json={"input": "other"}, headers=keyed("c2"))  # 409 not kept
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    wait_done(handinger_api, worker["id"], turns=3)
    [listed] = handinger_api.get("/_emulator/workers").json()
    assert listed["inputs"] == ["start", "more [[duration=1]]", "other"]


def test_keys_expire_after_a_day_and_can_be_ignored(handinger_api: httpx.Client) -> None:
    first = handinger_api.post("/api/workers", json={"input": "old"}, headers=keyed("k"))
    handinger_api.post("/_emulator/clock", json={"advance": 24 * 3600 + 1})
    later = handinger_api.post("/api/workers", json={"input": "old"}, headers=keyed("k"))
    assert later.json()["id"] != first.json()["id"]
    assert (
        handinger_api.post("/_emulator/config", json={"idempotency_keys": False}).status_code == 200
    )
    a = handinger_api.post("/api/workers", json={"input": "x"}, headers=keyed("n"))
    b = handinger_api.post("/api/workers", json={"input": "x"}, headers=keyed("n"))
    assert a.json()["id"] != b.json()["id"]
    assert len(handinger_api.get("/_emulator/workers").json()) == 4


def _in_background(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        result["response"] = call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _held(handinger_api: httpx.Client, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        held: list[dict[str, Any]] = handinger_api.get("/_emulator/held").json()
        if len(held) >= count:
            return held
        time.sleep(0.02)
    pytest.fail("nothing was held")


def test_a_held_create_acts_at_once_and_answers_when_released(
    handinger_emulator: Child, handinger_api: httpx.Client
) -> None:
    fault = {"action": "hold", "method": "POST", "path": "^/api/workers$"}
    assert handinger_api.post("/_emulator/faults", json=fault).json() == {"ok": True}
    with httpx.Client(base_url=handinger_emulator.url, headers=AUTH, timeout=15.0) as client:
        thread, result = _in_background(
            lambda: client.post("/api/workers", json={"input": "held [[duration=0.2]]"})
        )
        [held] = _held(handinger_api)
        assert held["method"] == "POST" and held["path"] == "/api/workers"
        [worker] = handinger_api.get("/_emulator/workers").json()  # it acted already
        wait_done(handinger_api, worker["id"])  # and the turn plays on while the response waits
        assert "response" not in result
        assert handinger_api.post("/_emulator/release").json() == {"released": 1}
        thread.join(10)
    assert result["response"].status_code == 200
    assert result["response"].json()["id"] == worker["id"]
    assert handinger_api.get("/_emulator/held").json() == []


def test_a_held_stream_sends_nothing_until_released(
    handinger_emulator: Child, handinger_api: httpx.Client
) -> None:
    handinger_api.post("/_emulator/faults", json={"action": "hold", "path": "^/api/workers$"})
    body = {"input": "held stream", "stream": True}

    def call() -> list[Any]:
        with (
            httpx.Client(base_url=handinger_emulator.url, headers=AUTH, timeout=15.0) as client,
            client.stream("POST", "/api/workers", json=body) as response,
        ):
            return sse_json(response)

    thread, result = _in_background(call)
    _held(handinger_api)
    [worker] = handinger_api.get("/_emulator/workers").json()
    wait_done(handinger_api, worker["id"])
    assert "response" not in result
    handinger_api.post("/_emulator/release")
    thread.join(10)
    frames = result["response"]
    assert frames[0]["type"] == "start" and frames[-1]["type"] == "finish"


def test_release_counts_and_reset_releases_everything(
    handinger_emulator: Child, handinger_api: httpx.Client
) -> None:
    assert handinger_api.post("/_emulator/release", json={"count": 0}).status_code == 400
    assert handinger_api.post("/_emulator/faults", json={"action": "explode"}).status_code == 400
    assert handinger_api.post("/_emulator/release").json() == {"released": 0}
    handinger_api.post(
        "/_emulator/faults", json={"action": "hold", "count": 2, "path": "^/api/workers$"}
    )
    with httpx.Client(base_url=handinger_emulator.url, headers=AUTH, timeout=15.0) as client:
        calls = [
            _in_background(lambda: client.post("/api/workers", json={"input": "one"})),
            _in_background(lambda: client.post("/api/workers", json={"input": "two"})),
        ]
        _held(handinger_api, 2)
        assert handinger_api.post("/_emulator/release", json={"count": 1}).json() == {"released": 1}
        assert len(handinger_api.get("/_emulator/held").json()) == 1
        handinger_api.post("/_emulator/reset")
        for thread, result in calls:
            thread.join(10)
            assert result["response"].status_code == 200
    assert handinger_api.get("/_emulator/held").json() == []
