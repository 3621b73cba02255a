"""The Handinger emulator over real loopback HTTP, driven with plain httpx (not our client)."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.procs import ServerProcess, running

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


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


def sse(response: httpx.Response) -> list[str]:
    """Data payloads of an SSE body; anything but data lines and comments fails the test."""
    events: list[str] = []
    data: list[str] = []
    for line in response.iter_lines():
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "":
            if data:
                events.append("\n".join(data))
            data = []
        elif not line.startswith(":"):
            pytest.fail(f"unexpected SSE line {line!r}")
    if data:
        events.append("\n".join(data))
    return events


def sse_json(response: httpx.Response) -> list[Any]:
    return [json.loads(e) for e in sse(response) if e != "[DONE]"]


def create(http: httpx.Client, text: str, **extra: Any) -> dict[str, Any]:
    response = http.post("/api/workers", json={"input": text, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_done(http: httpx.Client, worker_id: str, turns: int | None = None) -> dict[str, Any]:
    """Poll until the worker is idle (and has `turns` turns, if given)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body: dict[str, Any] = http.get(f"/api/workers/{worker_id}").json()
        count = len([m for m in body["messages"] if m["role"] == "user"])
        if body["status"] == "completed" and (turns is None or count >= turns):
            return body
        time.sleep(0.05)
    pytest.fail(f"worker {worker_id} did not finish")


def config(http: httpx.Client, **values: Any) -> dict[str, Any]:
    response = http.post("/_emulator/config", json=values)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- auth, routing, validation ------------------------------------------------------------


def test_auth_is_required(emu: ServerProcess, http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
        response = httpx.post(f"{emu.url}/api/workers", json={"input": "x"}, headers=headers)
        assert response.status_code == 401
        assert isinstance(response.json()["error"], str)
    assert http.get("/_emulator/workers").json() == []


def test_unknown_routes_and_workers_are_json_404(http: httpx.Client) -> None:
    for path in ("/nope", "/api/workers/w_missing", "/api/workers/w_missing/email"):
        response = http.get(path)
        assert response.status_code == 404
        assert isinstance(response.json()["error"], str)
    assert http.post("/api/workers/w_missing", json={"input": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("[1, 2]", 400),
        ('"text"', 400),
        ("{not json", 400),
        ("", 400),
        ("{}", 400),
        ('{"input": 5}', 400),
        ('{"input": "   "}', 400),
        ('{"input": "hi", "budget": "huge"}', 422),
        ('{"input": "hi", "stream": "yes"}', 400),
    ],
)
def test_create_validation(http: httpx.Client, body: str, status: int) -> None:
    response = http.post("/api/workers", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert isinstance(response.json()["error"], str)
    assert http.get("/_emulator/workers").json() == []


def test_unknown_fields_are_ignored(http: httpx.Client) -> None:
    worker = create(http, "hello", budget="low", colour="blue")
    assert worker["status"] == "running"


# --- workers and turns --------------------------------------------------------------------


def test_create_returns_running_worker_then_completes(http: httpx.Client) -> None:
    response = http.post("/api/workers", json={"input": "Compare two databases"})
    worker = response.json()
    assert response.headers["X-Worker-Id"] == worker["id"]
    assert re.fullmatch(r"t_org_emu_w_[0-9A-Z]{26}", worker["id"])
    assert worker["object"] == "worker" and worker["status"] == "running" and worker["running"]
    assert isinstance(worker["created_at"], int)
    assert "usage" not in worker and "costs" not in worker
    assert worker["metadata"] == {} and worker["error"] is None

    done = wait_done(http, worker["id"])
    assert done["running"] is False and done["error"] is None
    assert done["output_text"].startswith("## Compare two databases")
    assert "- " in done["output_text"]
    assert done["output"][0]["content"][0] == {"type": "output_text", "text": done["output_text"]}
    assert [s["url"].startswith("https://example.org/") for s in done["sources"]] == [True, True]
    assert [m["role"] for m in done["messages"]] == ["user", "assistant"]
    usage = done["usage"]
    for key in ("inputTokens", "outputTokens", "reasoningTokens", "cacheReadTokens"):
        assert isinstance(usage[key], int)
    assert isinstance(usage["costUsd"], float) and usage["steps"] == 3
    assert isinstance(usage["credits"], int) and isinstance(usage["durationMs"], int)
    assert set(done["costs"]) == {
        "internalCostUsd",
        "modelCostUsd",
        "sandboxCostUsd",
        "toolCostUsd",
    }


def test_answers_are_deterministic_per_instruction_and_turn(http: httpx.Client) -> None:
    first = create(http, "Plan a trip [[chunks=2]]")
    second = create(http, "Plan a trip [[chunks=3]]")
    other = create(http, "Summarise the news")
    a, b, c = (wait_done(http, w["id"])["output_text"] for w in (first, second, other))
    assert a == b and a != c
    assert http.post(f"/api/workers/{first['id']}", json={"input": "Plan a trip"}).is_success
    assert wait_done(http, first["id"], turns=2)["output_text"] != a


def test_continue_conflicts_while_busy(http: httpx.Client) -> None:
    worker = create(http, "Long job [[duration=1.5]]")
    path = f"/api/workers/{worker['id']}"
    busy = http.post(path, json={"input": "more"})
    assert busy.status_code == 409
    assert busy.json() == {"error": "Worker is busy with another turn"}
    assert http.post(path, json={"input": ""}).status_code == 400
    assert http.post(path, json={"input": "x", "budget": "max"}).status_code == 422
    wait_done(http, worker["id"])
    resumed = http.post(path, json={"input": "Now the follow-up", "budget": "high"})
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"
    assert resumed.json()["output_text"] == ""
    done = wait_done(http, worker["id"], turns=2)
    assert done["output_text"].startswith("## Now the follow-up")
    assert [m["role"] for m in done["messages"]] == ["user", "assistant"] * 2
    workers = http.get("/_emulator/workers").json()
    assert workers == [
        {
            "id": worker["id"],
            "status": "completed",
            "turns": 2,
            "inputs": ["Long job [[duration=1.5]]", "Now the follow-up"],
        }
    ]


def test_failed_turn_keeps_partial_text_and_error(http: httpx.Client) -> None:
    with http.stream("POST", "/api/workers", json={"input": "Break [[fail]]", "stream": True}) as r:
        events = sse_json(r)
    assert events[-1]["type"] == "error" and "fail" in events[-1]["errorText"]
    assert not any(e["type"] == "finish" for e in events)
    worker = wait_done(http, events[0]["messageMetadata"]["workerId"])
    assert worker["status"] == "completed" and worker["running"] is False
    assert "fail" in worker["error"]["message"]
    assert (
        0
        < len(worker["output_text"])
        < len(wait_done(http, create(http, "Break")["id"])["output_text"])
    )


def test_long_answers(http: httpx.Client) -> None:
    long = create(http, "Write an essay [[long]]")
    sized = create(http, "Write an essay [[chars=5000]]")
    assert len(wait_done(http, long["id"])["output_text"]) > 45_000
    assert len(wait_done(http, sized["id"])["output_text"]) >= 5000


def test_blocking_mode_returns_the_finished_turn(http: httpx.Client) -> None:
    config(http, blocking=True)
    worker = create(http, "Quick one")
    assert worker["status"] == "completed" and worker["output_text"] and "usage" in worker


def test_email_is_a_stable_json_string(http: httpx.Client) -> None:
    worker = create(http, "mail")
    first = http.get(f"/api/workers/{worker['id']}/email")
    assert first.headers["Content-Type"].startswith("application/json")
    address = first.json()
    assert isinstance(address, str) and address.endswith("@inbound.handinger.test")
    assert http.get(f"/api/workers/{worker['id']}/email").json() == address


# --- streams ------------------------------------------------------------------------------


def test_ai_sdk_stream_of_a_new_turn(http: httpx.Client) -> None:
    with http.stream("POST", "/api/workers", json={"input": "Go [[files=1]]", "stream": True}) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"
        worker_id = r.headers["X-Worker-Id"]
        raw = sse(r)
    assert "[DONE]" not in raw
    events = [json.loads(e) for e in raw]
    assert events[0]["type"] == "start"
    assert events[0]["messageMetadata"]["workerId"] == worker_id
    types = [e["type"] for e in events]
    for expected in ("start-step", "tool-input-available", "tool-output-available", "text-start"):
        assert expected in types
    assert types.count("text-delta") == 6 and types.count("source-url") == 2
    assert types[-2:] == ["finish-step", "finish"] and events[-1]["finishReason"] == "stop"
    file_chunk = next(e for e in events if e["type"] == "file")
    assert file_chunk["mediaType"] == "text/markdown"
    assert file_chunk["url"].endswith(f"/api/workers/{worker_id}/files/reports/q3/summary.md")
    text = "".join(e["delta"] for e in events if e["type"] == "text-delta")
    assert text == wait_done(http, worker_id)["output_text"]


def test_done_sentinel(http: httpx.Client) -> None:
    config(http, done_sentinel=True)
    with http.stream("POST", "/api/workers", json={"input": "hi", "stream": True}) as r:
        raw = sse(r)
    assert raw[-1] == "[DONE]" and raw.count("[DONE]") == 1


def test_worker_snapshot_stream(http: httpx.Client) -> None:
    config(http, stream_format="worker")
    with http.stream("POST", "/api/workers", json={"input": "snap", "stream": True}) as r:
        snapshots = sse_json(r)
    assert all(s["object"] == "worker" for s in snapshots)
    assert snapshots[0]["status"] == "running" and snapshots[0]["id"] == r.headers["X-Worker-Id"]
    texts = [s["output_text"] for s in snapshots]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert snapshots[-1]["status"] == "completed" and snapshots[-1]["running"] is False
    assert snapshots[-1] == wait_done(http, snapshots[0]["id"])


def test_responses_stream(http: httpx.Client) -> None:
    config(http, stream_format="responses")
    with http.stream("POST", "/api/workers", json={"input": "resp", "stream": True}) as r:
        events = sse_json(r)
    worker_id = events[0]["response"]["id"]
    assert events[0] == {
        "type": "response.created",
        "response": {"id": worker_id, "object": "response", "status": "in_progress"},
    }
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert [e["item"]["type"] for e in added] == ["function_call"] * 2
    assert added[0]["item"]["name"] == "webSearch"
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    done = next(e for e in events if e["type"] == "response.output_text.done")
    assert done["text"] == deltas
    assert events[-1]["type"] == "response.completed"
    final = events[-1]["response"]
    assert final["status"] == "completed" and final["output_text"] == deltas
    assert final["usage"]["totalTokens"] > 0


def test_responses_stream_failure(http: httpx.Client) -> None:
    config(http, stream_format="responses")
    with http.stream("POST", "/api/workers", json={"input": "x [[fail]]", "stream": True}) as r:
        events = sse_json(r)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "failed"
    assert "fail" in events[-1]["response"]["error"]["message"]


def test_stream_replays_then_tails_the_live_turn(http: httpx.Client) -> None:
    worker = create(http, "First question")
    wait_done(http, worker["id"])
    path = f"/api/workers/{worker['id']}"
    assert http.post(path, json={"input": "Second [[duration=2]]"}).status_code == 200
    with http.stream("GET", path + "/stream") as r:
        events = sse_json(r)
    replay = [e for e in events if "role" in e]
    assert replay[0]["parts"] == [{"type": "text", "text": "First question"}]
    assert [m["role"] for m in replay] == ["user", "assistant", "user"]
    assert any(p["type"] == "text" for p in replay[1]["parts"])
    live = events[len(replay) :]
    assert live[0]["type"] == "start" and live[-1]["type"] == "finish"
    final = wait_done(http, worker["id"], turns=2)
    assert "".join(e["delta"] for e in live if e["type"] == "text-delta") == final["output_text"]


@pytest.mark.parametrize("how", ["query", "accept"])
def test_get_worker_can_stream(http: httpx.Client, how: str) -> None:
    worker = create(http, "Streaming via GET [[duration=1.5]]")
    path = f"/api/workers/{worker['id']}"
    params = {"stream": "true"} if how == "query" else None
    headers = {"Accept": "text/event-stream"} if how == "accept" else None
    with http.stream("GET", path, params=params, headers=headers) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        events = sse_json(r)
    assert events[0]["role"] == "user" and events[-1]["type"] == "finish"


def test_idle_stream_replays_or_returns_204(http: httpx.Client) -> None:
    worker = create(http, "Idle")
    wait_done(http, worker["id"])
    stream_path = f"/api/workers/{worker['id']}/stream"
    with http.stream("GET", stream_path) as r:
        assert [m["role"] for m in sse_json(r)] == ["user", "assistant"]
    config(http, idle_stream="204", stream_format="worker")
    response = http.get(stream_path)
    assert response.status_code == 204 and response.content == b""
    config(http, idle_stream="replay")
    with http.stream("GET", stream_path) as r:
        snapshots = sse_json(r)
    assert len(snapshots) == 1 and snapshots[0]["status"] == "completed"


def test_stream_cut_after_n_events(http: httpx.Client) -> None:
    assert http.post("/_emulator/stream-faults", json={"cut_after": 3}).json() == {"ok": True}
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/api/workers", json={"input": "cut", "stream": True}) as r,
    ):
        worker_id = r.headers["X-Worker-Id"]
        received.extend(line for line in r.iter_lines() if line.startswith("data:"))
    assert len(received) == 3
    assert wait_done(http, worker_id)["output_text"]  # the turn went on without the stream
    with http.stream("POST", "/api/workers", json={"input": "ok", "stream": True}) as r:
        assert sse_json(r)[-1]["type"] == "finish"  # count=1: the next stream is whole


def test_stream_stall_lets_the_turn_finish_meanwhile(
    emu: ServerProcess, http: httpx.Client
) -> None:
    http.post("/_emulator/stream-faults", json={"stall_after": 2, "stall_seconds": 2})
    with http.stream("POST", "/api/workers", json={"input": "stall", "stream": True}) as r:
        worker_id = r.headers["X-Worker-Id"]
        lines = r.iter_lines()
        first = [line for line in (next(lines) for _ in range(4)) if line.startswith("data:")]
        assert len(first) == 2
        with httpx.Client(base_url=emu.url, headers=AUTH) as other:
            done = wait_done(other, worker_id)  # completes while the stream is silent
        rest = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    assert rest[-1]["type"] == "finish"
    text = "".join(e["delta"] for e in rest if e["type"] == "text-delta")
    assert text == done["output_text"]


# --- files --------------------------------------------------------------------------------


def test_files_download_literal_and_encoded_nested_paths(
    emu: ServerProcess, http: httpx.Client
) -> None:
    worker = wait_done(http, create(http, "Report [[files=3]]")["id"])
    wid = worker["id"]
    assert [f["filename"] for f in worker["files"]] == [
        "reports/q3/summary.md",
        "chart.png",
        "notes-3.txt",
    ]
    assert [f["mediaType"] for f in worker["files"]] == ["text/markdown", "image/png", "text/plain"]
    summary_url = f"{emu.url}/api/workers/{wid}/files/reports/q3/summary.md"
    assert worker["files"][0]["url"] == summary_url
    literal = http.get(summary_url)
    encoded = http.get(f"/api/workers/{wid}/files/reports%2Fq3%2Fsummary.md")
    assert literal.status_code == encoded.status_code == 200
    assert literal.content == encoded.content and b"reports/q3/summary.md" in literal.content
    assert literal.headers["Content-Type"] == "text/markdown"
    assert int(literal.headers["Content-Length"]) == len(literal.content)
    png = http.get(worker["files"][1]["url"])
    assert png.headers["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(UnicodeDecodeError):
        png.content.decode("utf-8")
    assert http.get(f"/api/workers/{wid}/files/missing.txt").status_code == 404
    unauthenticated = httpx.get(summary_url)
    assert unauthenticated.status_code == 401

    log = http.get("/_emulator/requests").json()
    encoded_entry = next(e for e in log if "%2F" in e["raw_path"])
    assert encoded_entry["path"] == f"/api/workers/{wid}/files/reports/q3/summary.md"


def test_republished_files_are_identical_unless_versioned(http: httpx.Client) -> None:
    wid = create(http, "v1 [[files=2]]")["id"]
    wait_done(http, wid)
    first = http.get(f"/api/workers/{wid}/files/chart.png").content
    http.post(f"/api/workers/{wid}", json={"input": "again [[files=2]] [[file=extra/data.csv]]"})
    worker = wait_done(http, wid, turns=2)
    assert [f["filename"] for f in worker["files"]] == [
        "reports/q3/summary.md",
        "chart.png",
        "extra/data.csv",
    ]
    assert http.get(f"/api/workers/{wid}/files/chart.png").content == first
    assert (
        http.get(f"/api/workers/{wid}/files/extra/data.csv").headers["Content-Type"] == "text/csv"
    )
    http.post(f"/api/workers/{wid}", json={"input": "v2 [[files=2]] [[version=2]]"})
    wait_done(http, wid, turns=3)
    assert http.get(f"/api/workers/{wid}/files/chart.png").content != first


def test_big_and_relative_files(http: httpx.Client) -> None:
    worker = wait_done(http, create(http, "big [[filesize=300000]] [[relative-files]]")["id"])
    (big,) = worker["files"]
    assert big["filename"] == "big.bin" and big["mediaType"] == "application/octet-stream"
    assert big["url"] == f"/api/workers/{worker['id']}/files/big.bin"
    response = http.get(big["url"])
    assert response.headers["Content-Length"] == "300000" and len(response.content) == 300_000


def test_foreign_file_is_served_without_auth_and_logged(
    emu: ServerProcess, http: httpx.Client
) -> None:
    worker = wait_done(http, create(http, "elsewhere [[foreign-file]] [[nosources]]")["id"])
    assert worker["sources"] == []
    (foreign,) = worker["files"]
    port = emu.url.rsplit(":", 1)[1]
    assert foreign["url"] == f"http://localhost:{port}/_foreign/{worker['id']}/foreign.txt"
    response = httpx.get(foreign["url"])
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/plain"
    entry = [
        e for e in http.get("/_emulator/requests").json() if e["path"].startswith("/_foreign/")
    ]
    assert len(entry) == 1
    assert entry[0]["authorization"] == "none" and entry[0]["host"] == f"localhost:{port}"
    assert entry[0]["status"] == 200


def test_steps_directive(http: httpx.Client) -> None:
    with http.stream("POST", "/api/workers", json={"input": "x [[steps=3]]", "stream": True}) as r:
        events = sse_json(r)
    assert [e["toolName"] for e in events if e["type"] == "tool-input-available"] == [
        "webSearch",
        "readPage",
        "webSearch",
    ]
    assert wait_done(http, events[0]["messageMetadata"]["workerId"])["usage"]["steps"] == 4


# --- faults and the request log -----------------------------------------------------------


def test_status_fault_with_retry_after_has_no_effect(http: httpx.Client) -> None:
    fault = {
        "status": 503,
        "count": 2,
        "retry_after": "1",
        "method": "POST",
        "path": "^/api/workers$",
    }
    assert http.post("/_emulator/faults", json=fault).json() == {"ok": True}
    assert http.get("/api/workers/nope").status_code == 404  # GET does not match
    for _ in range(2):
        response = http.post("/api/workers", json={"input": "x"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert isinstance(response.json()["error"], str)
    assert http.get("/_emulator/workers").json() == []
    assert create(http, "third time lucky")["status"] == "running"
    statuses = [e["status"] for e in http.get("/_emulator/requests").json()]
    assert statuses == [404, 503, 503, 200]


def test_close_fault_drops_the_connection_without_effect(http: httpx.Client) -> None:
    http.post("/_emulator/faults", json={"action": "close", "error": "boom"})
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/api/workers", json={"input": "lost?"})
    assert http.get("/_emulator/workers").json() == []
    (entry,) = http.get("/_emulator/requests").json()
    assert entry["status"] is None and entry["body"] == {"input": "lost?"}


def test_request_log_never_contains_the_key(emu: ServerProcess, http: httpx.Client) -> None:
    create(http, "logged")
    httpx.get(f"{emu.url}/api/workers", headers={"Authorization": "Bearer not-the-key"})
    http.get("/api/workers?x=1&y=two")
    log = http.get("/_emulator/requests")
    assert KEY not in log.text and "not-the-key" not in log.text
    entries = log.json()
    assert [e["authorization"] for e in entries] == ["valid", "invalid", "valid"]
    assert entries[0]["method"] == "POST" and entries[0]["body"] == {"input": "logged"}
    assert entries[2]["query"] == {"x": "1", "y": "two"} and entries[2]["body"] is None
    assert isinstance(entries[0]["time"], float) and entries[0]["host"]
    assert all(not e["path"].startswith("/_emulator") for e in entries)
    assert http.delete("/_emulator/requests").status_code == 200
    assert http.get("/_emulator/requests").json() == []


def test_reset_forgets_everything(http: httpx.Client) -> None:
    create(http, "to be forgotten [[duration=5]]")
    config(http, stream_format="worker", chunks=3)
    http.post("/_emulator/faults", json={"status": 500})
    http.post("/_emulator/stream-faults", json={"cut_after": 1})
    assert http.post("/_emulator/reset").json() == {"ok": True}
    assert http.get("/_emulator/workers").json() == []
    assert http.get("/_emulator/requests").json() == []
    whole = config(http)
    assert whole["stream_format"] == "ai-sdk" and whole["chunks"] == 6
    assert whole["turn_seconds"] == 0.3 and whole["idle_stream"] == "replay"
    with http.stream("POST", "/api/workers", json={"input": "fresh", "stream": True}) as r:
        assert r.status_code == 200 and sse_json(r)[-1]["type"] == "finish"


def test_config_rejects_bad_values(http: httpx.Client) -> None:
    for bad in ({"stream_format": "xml"}, {"chunks": 0}, {"blocking": "yes"}, {"nope": 1}):
        assert http.post("/_emulator/config", json=bad).status_code == 400
    assert config(http, chunks=2)["chunks"] == 2


# --- measured times and stream counts -----------------------------------------------------


def times_of(http: httpx.Client) -> list[dict[str, Any]]:
    workers: list[dict[str, Any]] = http.get("/_emulator/workers?times=true").json()
    return workers


def finished_entry(http: httpx.Client, method: str, path: str) -> dict[str, Any]:
    """The request-log entry of `method path`, once its handler has returned."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for entry in http.get("/_emulator/requests").json():
            if (entry["method"], entry["path"]) == (method, path) and entry["finished"]:
                found: dict[str, Any] = entry
                return found
        time.sleep(0.02)
    pytest.fail(f"{method} {path} never finished")


def stats(http: httpx.Client) -> dict[str, int]:
    body: dict[str, int] = http.get("/_emulator/stats").json()
    return body


def test_streamed_turn_times_are_measured_before_the_client_sees_them(
    http: httpx.Client,
) -> None:
    received: list[float] = []
    texts: list[str] = []
    body = {"input": "Timed turn [[duration=0.6]]", "stream": True}
    with http.stream("POST", "/api/workers", json=body) as r:
        worker_id = r.headers["X-Worker-Id"]
        for line in r.iter_lines():
            if line.startswith("data:"):
                chunk = json.loads(line[5:])
                if chunk["type"] == "text-delta":
                    received.append(time.time())
                    texts.append(chunk["delta"])
    [worker] = times_of(http)
    [turn] = worker["turn_times"]
    assert worker["id"] == worker_id and worker["turns"] == 1 and turn["number"] == 1
    deltas = turn["deltas"]
    assert len(deltas) == len(received) == 6
    assert all(earlier < later for earlier, later in itertools.pairwise(deltas))
    assert turn["started_at"] < deltas[0] and deltas[-1] < turn["ended_at"]
    assert turn["first_text_at"] == deltas[0]
    assert all(sent <= got for sent, got in zip(deltas, received, strict=True))
    assert turn["chars"] == list(itertools.accumulate(len(t) for t in texts))
    assert "turn_times" not in http.get("/_emulator/workers").json()[0]
    entry = finished_entry(http, "POST", "/api/workers")
    assert entry["time"] <= turn["started_at"] and entry["finished"] >= turn["ended_at"]


def test_times_of_a_running_a_failed_and_a_continued_turn(http: httpx.Client) -> None:
    worker = create(http, "Long one [[duration=3]]")
    [running] = times_of(http)[0]["turn_times"]
    assert running["started_at"] is not None and running["ended_at"] is None
    assert running["first_text_at"] is None and running["deltas"] == [] == running["chars"]
    wait_done(http, worker["id"])
    path = f"/api/workers/{worker['id']}"
    assert http.post(path, json={"input": "Then fail [[fail]]"}).status_code == 200
    done = wait_done(http, worker["id"], turns=2)
    first, second = times_of(http)[0]["turn_times"]
    assert [first["number"], second["number"]] == [1, 2]
    assert first["ended_at"] < second["started_at"]
    assert len(second["deltas"]) == 3 and second["ended_at"] > second["deltas"][-1]
    assert second["chars"][-1] == len(done["output_text"])


def test_worker_events_carry_their_times(http: httpx.Client) -> None:
    worker = wait_done(http, create(http, "Events")["id"])
    events = http.get(f"/_emulator/workers/{worker['id']}/events").json()
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finish" and kinds.count("text_delta") == 6
    assert {e["turn"] for e in events} == {1}
    times = [e["time"] for e in events]
    assert times == sorted(times)
    [turn] = times_of(http)[0]["turn_times"]
    assert [e["time"] for e in events if e["kind"] == "text_delta"] == turn["deltas"]
    assert (events[0]["time"], events[-1]["time"]) == (turn["started_at"], turn["ended_at"])
    assert events[-1]["chars"] == len(worker["output_text"])
    missing = http.get("/_emulator/workers/w_missing/events")
    assert missing.status_code == 404 and isinstance(missing.json()["error"], str)


def test_stats_count_open_and_peak_streams(http: httpx.Client) -> None:
    assert stats(http) == {"open_streams": 0, "peak_open_streams": 0, "streams": 0}
    body = {"input": "Two at once [[duration=1]]", "stream": True}
    with (
        http.stream("POST", "/api/workers", json=body) as one,
        http.stream("POST", "/api/workers", json=body) as two,
    ):
        during = stats(http)
        assert sse_json(one)[-1]["type"] == sse_json(two)[-1]["type"] == "finish"
    assert during == {"open_streams": 2, "peak_open_streams": 2, "streams": 2}
    deadline = time.monotonic() + 10
    while stats(http)["open_streams"] and time.monotonic() < deadline:
        time.sleep(0.02)
    wait_done(http, create(http, "not a stream")["id"])
    assert stats(http) == {"open_streams": 0, "peak_open_streams": 2, "streams": 2}
    http.post("/_emulator/reset")
    assert stats(http) == {"open_streams": 0, "peak_open_streams": 0, "streams": 0}


def test_plain_requests_are_finished_when_answered(http: httpx.Client) -> None:
    wait_done(http, create(http, "Quick")["id"])
    entry = finished_entry(http, "POST", "/api/workers")
    [turn] = times_of(http)[0]["turn_times"]
    # the handler answers at once: before the agent played anything but its `start`
    assert entry["time"] <= turn["started_at"] <= entry["finished"] < turn["first_text_at"]
    http.post("/_emulator/reset")
    config(http, blocking=True)
    create(http, "Blocking")
    entry = finished_entry(http, "POST", "/api/workers")
    [turn] = times_of(http)[0]["turn_times"]
    assert entry["finished"] >= turn["ended_at"]


# --- schedules ----------------------------------------------------------------------------


def schedules(http: httpx.Client, wid: str) -> list[dict[str, Any]]:
    body = http.get(f"/api/workers/{wid}/schedules").json()
    assert body["workerId"] == wid
    result: list[dict[str, Any]] = body["schedules"]
    return result


def advance(http: httpx.Client, seconds: float) -> None:
    now = http.post("/_emulator/clock", json={"advance": seconds}).json()["now"]
    assert ISO_MS.match(now)


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"when": {"type": "delayed", "delayInSeconds": 5}}, 400),
        ({"input": " ", "when": {"type": "delayed", "delayInSeconds": 5}}, 400),
        ({"input": "x", "budget": "big", "when": {"type": "delayed", "delayInSeconds": 5}}, 422),
        ({"input": "x", "when": "tomorrow"}, 400),
        ({"input": "x"}, 400),
        ({"input": "x", "when": {"type": "weekly"}}, 422),
        ({"input": "x", "when": {"type": "scheduled"}}, 422),
        ({"input": "x", "when": {"type": "scheduled", "date": "next tuesday"}}, 422),
        ({"input": "x", "when": {"type": "delayed", "delayInSeconds": 0}}, 422),
        ({"input": "x", "when": {"type": "delayed", "delayInSeconds": 31536001}}, 422),
        ({"input": "x", "when": {"type": "delayed", "delayInSeconds": 1.5}}, 422),
        ({"input": "x", "when": {"type": "delayed", "delayInSeconds": "60"}}, 422),
        ({"input": "x", "when": {"type": "interval", "intervalSeconds": True}}, 422),
        ({"input": "x", "when": {"type": "interval"}}, 422),
        ({"input": "x", "when": {"type": "cron", "cron": "* * * *"}}, 422),
        ({"input": "x", "when": {"type": "cron", "cron": "0 0 * * * *"}}, 422),
        ({"input": "x", "when": {"type": "cron", "cron": "99 * * * *"}}, 422),
        ({"input": "x", "when": {"type": "cron", "cron": "@daily"}}, 422),
    ],
)
def test_schedule_validation(http: httpx.Client, body: dict[str, Any], status: int) -> None:
    wid = create(http, "schedule me")["id"]
    response = http.post(f"/api/workers/{wid}/schedules", json=body)
    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str)
    assert schedules(http, wid) == []


def test_schedule_shapes_and_cancel(http: httpx.Client) -> None:
    wid = create(http, "shapes")["id"]
    path = f"/api/workers/{wid}/schedules"
    whens: list[dict[str, Any]] = [
        {"type": "scheduled", "date": "2030-05-01T08:00:00+00:00"},
        {"type": "delayed", "delayInSeconds": 90},
        {"type": "cron", "cron": "30 9 * * 1"},
        {"type": "interval", "intervalSeconds": 60},
    ]
    created = [http.post(path, json={"input": "ping", "when": w}).json() for w in whens]
    for item, when in zip(created, whens, strict=True):
        assert item["id"].startswith("sch_") and item["type"] == when["type"]
        assert item["input"] == "ping" and item["budget"] == "standard"
        assert ISO_MS.match(item["nextRunAt"])
    assert "date" not in created[0] and created[0]["nextRunAt"] == "2030-05-01T08:00:00.000Z"
    assert created[1]["delayInSeconds"] == 90 and created[2]["cron"] == "30 9 * * 1"
    assert created[3]["intervalSeconds"] == 60
    cron_next = datetime.fromisoformat(created[2]["nextRunAt"])
    assert (cron_next.weekday(), cron_next.hour, cron_next.minute) == (0, 9, 30)
    assert schedules(http, wid) == created
    assert http.delete(f"{path}/{created[1]['id']}").json() == {"cancelled": True}
    assert http.delete(f"{path}/{created[1]['id']}").json() == {"cancelled": False}
    assert http.delete(f"{path}/sch_unknown").json() == {"cancelled": False}
    assert http.delete("/api/workers/nope/schedules/sch_x").status_code == 404
    assert http.get("/api/workers/nope/schedules").status_code == 404
    assert len(schedules(http, wid)) == 3


def test_delayed_and_scheduled_fire_once_and_disappear(http: httpx.Client) -> None:
    wid = create(http, "base")["id"]
    wait_done(http, wid)
    path = f"/api/workers/{wid}/schedules"
    when = {"type": "delayed", "delayInSeconds": 30}
    http.post(path, json={"input": "delayed run", "when": when, "budget": "low"})
    advance(http, 31)
    assert schedules(http, wid) == []
    done = wait_done(http, wid, turns=2)
    assert done["output_text"].startswith("## delayed run")
    now = at(http.get("/_emulator/clock").json()["now"])
    date = datetime.fromtimestamp(now + 7200, UTC).isoformat()
    http.post(path, json={"input": "dated run", "when": {"type": "scheduled", "date": date}})
    advance(http, 3600)
    assert len(schedules(http, wid)) == 1
    advance(http, 3601)
    assert schedules(http, wid) == []
    assert http.get("/_emulator/workers").json()[0]["inputs"] == [
        "base",
        "delayed run",
        "dated run",
    ]


def test_interval_and_cron_fire_and_advance(http: httpx.Client) -> None:
    wid = create(http, "base")["id"]
    wait_done(http, wid)
    path = f"/api/workers/{wid}/schedules"
    interval = http.post(
        path, json={"input": "tick", "when": {"type": "interval", "intervalSeconds": 60}}
    )
    before = at(interval.json()["nextRunAt"])
    advance(http, 61)
    (after,) = schedules(http, wid)
    assert at(after["nextRunAt"]) >= before + 60
    wait_done(http, wid, turns=2)
    http.delete(f"{path}/{after['id']}")

    cron = http.post(path, json={"input": "hourly", "when": {"type": "cron", "cron": "0 * * * *"}})
    first = at(cron.json()["nextRunAt"])
    assert first % 3600 == 0
    advance(http, first - at(http.get("/_emulator/clock").json()["now"]) + 1)
    (moved,) = schedules(http, wid)
    assert at(moved["nextRunAt"]) == first + 3600
    done = wait_done(http, wid, turns=3)
    assert done["messages"][-2]["parts"][0]["text"] == "hourly"


def test_schedule_due_while_busy_fires_after_the_turn(http: httpx.Client) -> None:
    wid = create(http, "busy [[duration=2]]")["id"]
    path = f"/api/workers/{wid}/schedules"
    http.post(path, json={"input": "queued", "when": {"type": "delayed", "delayInSeconds": 5}})
    advance(http, 10)
    assert http.get("/_emulator/workers").json()[0]["turns"] == 1
    assert len(schedules(http, wid)) == 1
    done = wait_done(http, wid, turns=2)
    assert done["messages"][-2]["parts"][0]["text"] == "queued"
    assert schedules(http, wid) == []


def test_clock_reads_and_advances(http: httpx.Client) -> None:
    before = at(http.get("/_emulator/clock").json()["now"])
    advance(http, 86400)
    assert at(http.get("/_emulator/clock").json()["now"]) >= before + 86400
    assert http.post("/_emulator/clock", json={"advance": -1}).status_code == 400


def test_schedules_fire_on_the_real_clock_too(http: httpx.Client) -> None:
    wid = create(http, "base")["id"]
    wait_done(http, wid)
    when = {"type": "delayed", "delayInSeconds": 1}
    http.post(f"/api/workers/{wid}/schedules", json={"input": "soon", "when": when})
    assert wait_done(http, wid, turns=2)["output_text"].startswith("## soon")
    assert schedules(http, wid) == []


def test_cli_flags() -> None:
    args = ["--port", "0", "--api-key", "k2", "--stream-format", "worker", "--done-sentinel"]
    args += ["--turn-seconds", "0.1", "--chunks", "2", "--blocking", "--idle-stream", "204"]
    args += ["--time-scale", "60"]
    with (
        running("emulators.handinger", args) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k2"}) as http,
    ):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.output[0] == f"listening on {server.url}"
        assert config(http) == {
            "stream_format": "worker",
            "done_sentinel": True,
            "turn_seconds": 0.1,
            "chunks": 2,
            "time_scale": 60.0,
            "blocking": True,
            "idle_stream": "204",
            "idempotency_keys": True,
        }
        worker = create(http, "blocking")
        assert worker["status"] == "completed"
        assert http.get(f"/api/workers/{worker['id']}/stream").status_code == 204
        with http.stream("POST", "/api/workers", json={"input": "s", "stream": True}) as r:
            raw = sse(r)
        assert raw[-1] == "[DONE]" and json.loads(raw[0])["object"] == "worker"
