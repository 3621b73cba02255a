"""The Handinger emulator over real loopback HTTP, driven with plain httpx (not our client)."""

from __future__ import annotations

import itertools
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from emulators.credentials import HANDINGER_KEY
from emulators.harness import HANDINGER, Child, running
from tests.handinger_api import config, create, sse, sse_json, wait_done

AUTH = {"Authorization": f"Bearer {HANDINGER_KEY}"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# --- auth, routing, validation ------------------------------------------------------------


def test_auth_is_required(handinger_emulator: Child, handinger_api: httpx.Client) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {HANDINGER_KEY}"},
    ):
        response = httpx.post(
            f"{handinger_emulator.url}/api/workers", json={"input": "x"}, headers=headers
        )
        assert response.status_code == 401
        assert isinstance(response.json()["error"], str)
    assert handinger_api.get("/_emulator/workers").json() == []


def test_unknown_routes_and_workers_are_json_404(handinger_api: httpx.Client) -> None:
    for path in ("/nope", "/api/workers/w_missing", "/api/workers/w_missing/email"):
        response = handinger_api.get(path)
        assert response.status_code == 404
        assert isinstance(response.json()["error"], str)
    assert handinger_api.post("/api/workers/w_missing", json={"input": "x"}).status_code == 404


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
def test_create_validation(handinger_api: httpx.Client, body: str, status: int) -> None:
    response = handinger_api.post(
        "/api/workers", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert isinstance(response.json()["error"], str)
    assert handinger_api.get("/_emulator/workers").json() == []


def test_unknown_fields_are_ignored(handinger_api: httpx.Client) -> None:
    worker = create(handinger_api, "hello", budget="low", colour="blue")
    assert worker["status"] == "running"


# --- workers and turns --------------------------------------------------------------------


def test_create_returns_running_worker_then_completes(handinger_api: httpx.Client) -> None:
    response = handinger_api.post("/api/workers", json={"input": "Compare two databases"})
    worker = response.json()
    assert response.headers["X-Worker-Id"] == worker["id"]
    assert re.fullmatch(r"t_org_emu_w_[0-9A-Z]{26}", worker["id"])
    assert worker["object"] == "worker" and worker["status"] == "running" and worker["running"]
    assert isinstance(worker["created_at"], int)
    assert "usage" not in worker and "costs" not in worker
    assert worker["metadata"] == {} and worker["error"] is None

    done = wait_done(handinger_api, worker["id"])
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


def test_answers_are_deterministic_per_instruction_and_turn(handinger_api: httpx.Client) -> None:
    first = create(handinger_api, "Plan a trip [[chunks=2]]")
    second = create(handinger_api, "Plan a trip [[chunks=3]]")
    other = create(handinger_api, "Summarise the news")
    a, b, c = (wait_done(handinger_api, w["id"])["output_text"] for w in (first, second, other))
    assert a == b and a != c
    assert handinger_api.post(
        f"/api/workers/{first['id']}", json={"input": "Plan a trip"}
    ).is_success
    assert wait_done(handinger_api, first["id"], turns=2)["output_text"] != a


def test_continue_conflicts_while_busy(handinger_api: httpx.Client) -> None:
    worker = create(handinger_api, "Long job [[duration=1.5]]")
    path = f"/api/workers/{worker['id']}"
    busy = handinger_api.post(path, json={"input": "more"})
    assert busy.status_code == 409
    assert busy.json() == {"error": "Worker is busy with another turn"}
    assert handinger_api.post(path, json={"input": ""}).status_code == 400
    assert handinger_api.post(path, json={"input": "x", "budget": "max"}).status_code == 422
    wait_done(handinger_api, worker["id"])
    resumed = handinger_api.post(path, json={"input": "Now the follow-up", "budget": "high"})
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"
    assert resumed.json()["output_text"] == ""
    done = wait_done(handinger_api, worker["id"], turns=2)
    assert done["output_text"].startswith("## Now the follow-up")
    assert [m["role"] for m in done["messages"]] == ["user", "assistant"] * 2
    workers = handinger_api.get("/_emulator/workers").json()
    assert workers == [
        {
            "id": worker["id"],
            "status": "completed",
            "turns": 2,
            "inputs": ["Long job [[duration=1.5]]", "Now the follow-up"],
        }
    ]


def test_failed_turn_keeps_partial_text_and_error(handinger_api: httpx.Client) -> None:
    with handinger_api.stream(
        "POST", "/api/workers", json={"input": "Break [[fail]]", "stream": True}
    ) as r:
        events = sse_json(r)
    assert events[-1]["type"] == "error" and "fail" in events[-1]["errorText"]
    assert not any(e["type"] == "finish" for e in events)
    worker = wait_done(handinger_api, events[0]["messageMetadata"]["workerId"])
    assert worker["status"] == "completed" and worker["running"] is False
    assert "fail" in worker["error"]["message"]
    assert (
        0
        < len(worker["output_text"])
        < len(wait_done(handinger_api, create(handinger_api, "Break")["id"])["output_text"])
    )


def test_long_answers(handinger_api: httpx.Client) -> None:
    long = create(handinger_api, "Write an essay [[long]]")
    sized = create(handinger_api, "Write an essay [[chars=5000]]")
    assert len(wait_done(handinger_api, long["id"])["output_text"]) > 45_000
    assert len(wait_done(handinger_api, sized["id"])["output_text"]) >= 5000


def test_blocking_mode_returns_the_finished_turn(handinger_api: httpx.Client) -> None:
    config(handinger_api, blocking=True)
    worker = create(handinger_api, "Quick one")
    assert worker["status"] == "completed" and worker["output_text"] and "usage" in worker


def test_email_is_a_stable_json_string(handinger_api: httpx.Client) -> None:
    worker = create(handinger_api, "mail")
    first = handinger_api.get(f"/api/workers/{worker['id']}/email")
    assert first.headers["Content-Type"].startswith("application/json")
    address = first.json()
    assert isinstance(address, str) and address.endswith("@inbound.handinger.test")
    assert handinger_api.get(f"/api/workers/{worker['id']}/email").json() == address


# --- streams ------------------------------------------------------------------------------


def test_ai_sdk_stream_of_a_new_turn(handinger_api: httpx.Client) -> None:
    with handinger_api.stream(
        "POST", "/api/workers", json={"input": "Go [[files=1]]", "stream": True}
    ) as r:
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
    assert text == wait_done(handinger_api, worker_id)["output_text"]


def test_done_sentinel(handinger_api: httpx.Client) -> None:
    config(handinger_api, done_sentinel=True)
    with handinger_api.stream("POST", "/api/workers", json={"input": "hi", "stream": True}) as r:
        raw = sse(r)
    assert raw[-1] == "[DONE]" and raw.count("[DONE]") == 1


def test_worker_snapshot_stream(handinger_api: httpx.Client) -> None:
    config(handinger_api, stream_format="worker")
    with handinger_api.stream("POST", "/api/workers", json={"input": "snap", "stream": True}) as r:
        snapshots = sse_json(r)
    assert all(s["object"] == "worker" for s in snapshots)
    assert snapshots[0]["status"] == "running" and snapshots[0]["id"] == r.headers["X-Worker-Id"]
    texts = [s["output_text"] for s in snapshots]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert snapshots[-1]["status"] == "completed" and snapshots[-1]["running"] is False
    assert snapshots[-1] == wait_done(handinger_api, snapshots[0]["id"])


def test_responses_stream(handinger_api: httpx.Client) -> None:
    config(handinger_api, stream_format="responses")
    with handinger_api.stream("POST", "/api/workers", json={"input": "resp", "stream": True}) as r:
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


def test_responses_stream_failure(handinger_api: httpx.Client) -> None:
    config(handinger_api, stream_format="responses")
    with handinger_api.stream(
        "POST", "/api/workers", json={"input": "x [[fail]]", "stream": True}
    ) as r:
        events = sse_json(r)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "failed"
    assert "fail" in events[-1]["response"]["error"]["message"]


def test_stream_replays_then_tails_the_live_turn(handinger_api: httpx.Client) -> None:
    worker = create(handinger_api, "First question")
    wait_done(handinger_api, worker["id"])
    path = f"/api/workers/{worker['id']}"
    assert handinger_api.post(path, json={"input": "Second [[duration=2]]"}).status_code == 200
    with handinger_api.stream("GET", path + "/stream") as r:
        events = sse_json(r)
    replay = [e for e in events if "role" in e]
    assert replay[0]["parts"] == [{"type": "text", "text": "First question"}]
    assert [m["role"] for m in replay] == ["user", "assistant", "user"]
    assert any(p["type"] == "text" for p in replay[1]["parts"])
    live = events[len(replay) :]
    assert live[0]["type"] == "start" and live[-1]["type"] == "finish"
    final = wait_done(handinger_api, worker["id"], turns=2)
    assert "".join(e["delta"] for e in live if e["type"] == "text-delta") == final["output_text"]


@pytest.mark.parametrize("how", ["query", "accept"])
def test_get_worker_can_stream(handinger_api: httpx.Client, how: str) -> None:
    worker = create(handinger_api, "Streaming via GET [[duration=1.5]]")
    path = f"/api/workers/{worker['id']}"
    params = {"stream": "true"} if how == "query" else None
    headers = {"Accept": "text/event-stream"} if how == "accept" else None
    with handinger_api.stream("GET", path, params=params, headers=headers) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        events = sse_json(r)
    assert events[0]["role"] == "user" and events[-1]["type"] == "finish"


def test_idle_stream_replays_or_returns_204(handinger_api: httpx.Client) -> None:
    worker = create(handinger_api, "Idle")
    wait_done(handinger_api, worker["id"])
    stream_path = f"/api/workers/{worker['id']}/stream"
    with handinger_api.stream("GET", stream_path) as r:
        assert [m["role"] for m in sse_json(r)] == ["user", "assistant"]
    config(handinger_api, idle_stream="204", stream_format="worker")
    response = handinger_api.get(stream_path)
    assert response.status_code == 204 and response.content == b""
    config(handinger_api, idle_stream="replay")
    with handinger_api.stream("GET", stream_path) as r:
        snapshots = sse_json(r)
    assert len(snapshots) == 1 and snapshots[0]["status"] == "completed"


def test_stream_cut_after_n_events(handinger_api: httpx.Client) -> None:
    assert handinger_api.post("/_emulator/stream-faults", json={"cut_after": 3}).json() == {
        "ok": True
    }
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        handinger_api.stream("POST", "/api/workers", json={"input": "cut", "stream": True}) as r,
    ):
        worker_id = r.headers["X-Worker-Id"]
        received.extend(line for line in r.iter_lines() if line.startswith("data:"))
    assert len(received) == 3
    assert wait_done(handinger_api, worker_id)["output_text"]  # the turn went on without the stream
    with handinger_api.stream("POST", "/api/workers", json={"input": "ok", "stream": True}) as r:
        assert sse_json(r)[-1]["type"] == "finish"  # count=1: the next stream is whole


def test_stream_stall_lets_the_turn_finish_meanwhile(
    handinger_emulator: Child, handinger_api: httpx.Client
) -> None:
    handinger_api.post("/_emulator/stream-faults", json={"stall_after": 2, "stall_seconds": 2})
    with handinger_api.stream("POST", "/api/workers", json={"input": "stall", "stream": True}) as r:
        worker_id = r.headers["X-Worker-Id"]
        lines = r.iter_lines()
        first = [line for line in (next(lines) for _ in range(4)) if line.startswith("data:")]
        assert len(first) == 2
        with httpx.Client(base_url=handinger_emulator.url, headers=AUTH) as other:
            done = wait_done(other, worker_id)  # completes while the stream is silent
        rest = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    assert rest[-1]["type"] == "finish"
    text = "".join(e["delta"] for e in rest if e["type"] == "text-delta")
    assert text == done["output_text"]


# --- files --------------------------------------------------------------------------------


def test_files_download_literal_and_encoded_nested_paths(
    handinger_emulator: Child, handinger_api: httpx.Client
) -> None:
    worker = wait_done(handinger_api, create(handinger_api, "Report [[files=3]]")["id"])
    wid = worker["id"]
    assert [f["filename"] for f in worker["files"]] == [
        "reports/q3/summary.md",
        "chart.png",
        "notes-3.txt",
    ]
    assert [f["mediaType"] for f in worker["files"]] == ["text/markdown", "image/png", "text/plain"]
    summary_url = f"{handinger_emulator.url}/api/workers/{wid}/files/reports/q3/summary.md"
    assert worker["files"][0]["url"] == summary_url
    literal = handinger_api.get(summary_url)
    encoded = handinger_api.get(f"/api/workers/{wid}/files/reports%2Fq3%2Fsummary.md")
    assert literal.status_code == encoded.status_code == 200
    assert literal.content == encoded.content and b"reports/q3/summary.md" in literal.content
    assert literal.headers["Content-Type"] == "text/markdown"
    assert int(literal.headers["Content-Length"]) == len(literal.content)
    png = handinger_api.get(worker["files"][1]["url"])
    assert png.headers["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(UnicodeDecodeError):
        png.content.decode("utf-8")
    assert handinger_api.get(f"/api/workers/{wid}/files/missing.txt").status_code == 404
    unauthenticated = httpx.get(summary_url)
    assert unauthenticated.status_code == 401

    log = handinger_api.get("/_emulator/requests").json()
    encoded_entry = next(e for e in log if "%2F" in e["raw_path"])
    assert encoded_entry["path"] == f"/api/workers/{wid}/files/reports/q3/summary.md"


def test_republished_files_are_identical_unless_versioned(handinger_api: httpx.Client) -> None:
    wid = create(handinger_api, "v1 [[files=2]]")["id"]
    wait_done(handinger_api, wid)
    first = handinger_api.get(f"/api/workers/{wid}/files/chart.png").content
    handinger_api.post(
        f"/api/workers/{wid}", json={"input": "again [[files=2]] [[file=extra/data.csv]]"}
    )
    worker = wait_done(handinger_api, wid, turns=2)
    assert [f["filename"] for f in worker["files"]] == [
        "reports/q3/summary.md",
        "chart.png",
        "extra/data.csv",
    ]
    assert handinger_api.get(f"/api/workers/{wid}/files/chart.png").content == first
    assert (
        handinger_api.get(f"/api/workers/{wid}/files/extra/data.csv").headers["Content-Type"]
        == "text/csv"
    )
    handinger_api.post(f"/api/workers/{wid}", json={"input": "v2 [[files=2]] [[version=2]]"})
    wait_done(handinger_api, wid, turns=3)
    assert handinger_api.get(f"/api/workers/{wid}/files/chart.png").content != first


def test_big_and_relative_files(handinger_api: httpx.Client) -> None:
    worker = wait_done(
        handinger_api, create(handinger_api, "big [[filesize=300000]] [[relative-files]]")["id"]
    )
    (big,) = worker["files"]
    assert big["filename"] == "big.bin" and big["mediaType"] == "application/octet-stream"
    assert big["url"] == f"/api/workers/{worker['id']}/files/big.bin"
    response = handinger_api.get(big["url"])
    assert response.headers["Content-Length"] == "300000" and len(response.content) == 300_000


def test_foreign_file_is_served_without_auth_and_logged(
    handinger_emulator: Child, handinger_api: httpx.Client
) -> None:
    worker = wait_done(
        handinger_api, create(handinger_api, "elsewhere [[foreign-file]] [[nosources]]")["id"]
    )
    assert worker["sources"] == []
    (foreign,) = worker["files"]
    port = handinger_emulator.url.rsplit(":", 1)[1]
    assert foreign["url"] == f"http://localhost:{port}/_foreign/{worker['id']}/foreign.txt"
    response = httpx.get(foreign["url"])
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/plain"
    entry = [
        e
        for e in handinger_api.get("/_emulator/requests").json()
        if e["path"].startswith("/_foreign/")
    ]
    assert len(entry) == 1
    assert entry[0]["authorization"] == "none" and entry[0]["host"] == f"localhost:{port}"
    assert entry[0]["status"] == 200


def test_steps_directive(handinger_api: httpx.Client) -> None:
    with handinger_api.stream(
        "POST", "/api/workers", json={"input": "x [[steps=3]]", "stream": True}
    ) as r:
        events = sse_json(r)
    assert [e["toolName"] for e in events if e["type"] == "tool-input-available"] == [
        "webSearch",
        "readPage",
        "webSearch",
    ]
    assert wait_done(handinger_api, events[0]["messageMetadata"]["workerId"])["usage"]["steps"] == 4


# --- faults and the request log -----------------------------------------------------------


def test_status_fault_with_retry_after_has_no_effect(handinger_api: httpx.Client) -> None:
    fault = {
        "status": 503,
        "count": 2,
        "retry_after": "1",
        "method": "POST",
        "path": "^/api/workers$",
    }
    assert handinger_api.post("/_emulator/faults", json=fault).json() == {"ok": True}
    assert handinger_api.get("/api/workers/nope").status_code == 404  # GET does not match
    for _ in range(2):
        response = handinger_api.post("/api/workers", json={"input": "x"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert isinstance(response.json()["error"], str)
    assert handinger_api.get("/_emulator/workers").json() == []
    assert create(handinger_api, "third time lucky")["status"] == "running"
    statuses = [e["status"] for e in handinger_api.get("/_emulator/requests").json()]
    assert statuses == [404, 503, 503, 200]


def test_close_fault_drops_the_connection_without_effect(handinger_api: httpx.Client) -> None:
    handinger_api.post("/_emulator/faults", json={"action": "close", "error": "boom"})
    with pytest.raises(httpx.RemoteProtocolError):
        handinger_api.post("/api/workers", json={"input": "lost?"})
    assert handinger_api.get("/_emulator/workers").json() == []
    (entry,) = handinger_api.get("/_emulator/requests").json()
    assert entry["status"] is None and entry["body"] == {"input": "lost?"}


def test_request_log_never_contains_the_key(
    handinger_emulator: Child, handinger_api: httpx.Client
) -> None:
    create(handinger_api, "logged")
    httpx.get(
        f"{handinger_emulator.url}/api/workers", headers={"Authorization": "Bearer not-the-key"}
    )
    handinger_api.get("/api/workers?x=1&y=two")
    log = handinger_api.get("/_emulator/requests")
    assert HANDINGER_KEY not in log.text and "not-the-key" not in log.text
    entries = log.json()
    assert [e["authorization"] for e in entries] == ["valid", "invalid", "valid"]
    assert entries[0]["method"] == "POST" and entries[0]["body"] == {"input": "logged"}
    assert entries[2]["query"] == {"x": "1", "y": "two"} and entries[2]["body"] is None
    assert isinstance(entries[0]["time"], float) and entries[0]["host"]
    assert all(not e["path"].startswith("/_emulator") for e in entries)
    assert handinger_api.delete("/_emulator/requests").status_code == 200
    assert handinger_api.get("/_emulator/requests").json() == []


def test_reset_forgets_everything(handinger_api: httpx.Client) -> None:
    create(handinger_api, "to be forgotten [[duration=5]]")
    config(handinger_api, stream_format="worker", chunks=3)
    handinger_api.post("/_emulator/faults", json={"status": 500})
    handinger_api.post("/_emulator/stream-faults", json={"cut_after": 1})
    assert handinger_api.post("/_emulator/reset").json() == {"ok": True}
    assert handinger_api.get("/_emulator/workers").json() == []
    assert handinger_api.get("/_emulator/requests").json() == []
    whole = config(handinger_api)
    assert whole["stream_format"] == "ai-sdk" and whole["chunks"] == 6
    assert whole["turn_seconds"] == 0.3 and whole["idle_stream"] == "replay"
    with handinger_api.stream("POST", "/api/workers", json={"input": "fresh", "stream": True}) as r:
        assert r.status_code == 200 and sse_json(r)[-1]["type"] == "finish"


def test_config_rejects_bad_values(handinger_api: httpx.Client) -> None:
    for bad in ({"stream_format": "xml"}, {"chunks": 0}, {"blocking": "yes"}, {"nope": 1}):
        assert handinger_api.post("/_emulator/config", json=bad).status_code == 400
    assert config(handinger_api, chunks=2)["chunks"] == 2


# --- measured times and stream counts -----------------------------------------------------


def times_of(handinger_api: httpx.Client) -> list[dict[str, Any]]:
    workers: list[dict[str, Any]] = handinger_api.get("/_emulator/workers?times=true").json()
    return workers


def finished_entry(handinger_api: httpx.Client, method: str, path: str) -> dict[str, Any]:
    """The request-log entry of `method path`, once its handler has returned."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for entry in handinger_api.get("/_emulator/requests").json():
            if (entry["method"], entry["path"]) == (method, path) and entry["finished"]:
                found: dict[str, Any] = entry
                return found
        time.sleep(0.02)
    pytest.fail(f"{method} {path} never finished")


def stats(handinger_api: httpx.Client) -> dict[str, int]:
    body: dict[str, int] = handinger_api.get("/_emulator/stats").json()
    return body


def test_streamed_turn_times_are_measured_before_the_client_sees_them(
    handinger_api: httpx.Client,
) -> None:
    received: list[float] = []
    texts: list[str] = []
    body = {"input": "Timed turn [[duration=0.6]]", "stream": True}
    with handinger_api.stream("POST", "/api/workers", json=body) as r:
        worker_id = r.headers["X-Worker-Id"]
        for line in r.iter_lines():
            if line.startswith("data:"):
                chunk = json.loads(line[5:])
                if chunk["type"] == "text-delta":
                    received.append(time.time())
                    texts.append(chunk["delta"])
    [worker] = times_of(handinger_api)
    [turn] = worker["turn_times"]
    assert worker["id"] == worker_id and worker["turns"] == 1 and turn["number"] == 1
    deltas = turn["deltas"]
    assert len(deltas) == len(received) == 6
    assert all(earlier < later for earlier, later in itertools.pairwise(deltas))
    assert turn["started_at"] < deltas[0] and deltas[-1] < turn["ended_at"]
    assert turn["first_text_at"] == deltas[0]
    assert all(sent <= got for sent, got in zip(deltas, received, strict=True))
    assert turn["chars"] == list(itertools.accumulate(len(t) for t in texts))
    assert "turn_times" not in handinger_api.get("/_emulator/workers").json()[0]
    entry = finished_entry(handinger_api, "POST", "/api/workers")
    assert entry["time"] <= turn["started_at"] and entry["finished"] >= turn["ended_at"]


def test_times_of_a_running_a_failed_and_a_continued_turn(handinger_api: httpx.Client) -> None:
    worker = create(handinger_api, "Long one [[duration=3]]")
    [running] = times_of(handinger_api)[0]["turn_times"]
    assert running["started_at"] is not None and running["ended_at"] is None
    assert running["first_text_at"] is None and running["deltas"] == [] == running["chars"]
    wait_done(handinger_api, worker["id"])
    path = f"/api/workers/{worker['id']}"
    assert handinger_api.post(path, json={"input": "Then fail [[fail]]"}).status_code == 200
    done = wait_done(handinger_api, worker["id"], turns=2)
    first, second = times_of(handinger_api)[0]["turn_times"]
    assert [first["number"], second["number"]] == [1, 2]
    assert first["ended_at"] < second["started_at"]
    assert len(second["deltas"]) == 3 and second["ended_at"] > second["deltas"][-1]
    assert second["chars"][-1] == len(done["output_text"])


def test_worker_events_carry_their_times(handinger_api: httpx.Client) -> None:
    worker = wait_done(handinger_api, create(handinger_api, "Events")["id"])
    events = handinger_api.get(f"/_emulator/workers/{worker['id']}/events").json()
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finish" and kinds.count("text_delta") == 6
    assert {e["turn"] for e in events} == {1}
    times = [e["time"] for e in events]
    assert times == sorted(times)
    [turn] = times_of(handinger_api)[0]["turn_times"]
    assert [e["time"] for e in events if e["kind"] == "text_delta"] == turn["deltas"]
    assert (events[0]["time"], events[-1]["time"]) == (turn["started_at"], turn["ended_at"])
    assert events[-1]["chars"] == len(worker["output_text"])
    missing = handinger_api.get("/_emulator/workers/w_missing/events")
    assert missing.status_code == 404 and isinstance(missing.json()["error"], str)


def test_stats_count_open_and_peak_streams(handinger_api: httpx.Client) -> None:
    assert stats(handinger_api) == {"open_streams": 0, "peak_open_streams": 0, "streams": 0}
    body = {"input": "Two at once [[duration=1]]", "stream": True}
    with (
        handinger_api.stream("POST", "/api/workers", json=body) as one,
        handinger_api.stream("POST", "/api/workers", json=body) as two,
    ):
        during = stats(handinger_api)
        assert sse_json(one)[-1]["type"] == sse_json(two)[-1]["type"] == "finish"
    assert during == {"open_streams": 2, "peak_open_streams": 2, "streams": 2}
    deadline = time.monotonic() + 10
    while stats(handinger_api)["open_streams"] and time.monotonic() < deadline:
        time.sleep(0.02)
    wait_done(handinger_api, create(handinger_api, "not a stream")["id"])
    assert stats(handinger_api) == {"open_streams": 0, "peak_open_streams": 2, "streams": 2}
    handinger_api.post("/_emulator/reset")
    assert stats(handinger_api) == {"open_streams": 0, "peak_open_streams": 0, "streams": 0}


def test_plain_requests_are_finished_when_answered(handinger_api: httpx.Client) -> None:
    wait_done(handinger_api, create(handinger_api, "Quick")["id"])
    entry = finished_entry(handinger_api, "POST", "/api/workers")
    [turn] = times_of(handinger_api)[0]["turn_times"]
    # the handler answers at once: before the agent played anything but its `start`
    assert entry["time"] <= turn["started_at"] <= entry["finished"] < turn["first_text_at"]
    handinger_api.post("/_emulator/reset")
    config(handinger_api, blocking=True)
    create(handinger_api, "Blocking")
    entry = finished_entry(handinger_api, "POST", "/api/workers")
    [turn] = times_of(handinger_api)[0]["turn_times"]
    assert entry["finished"] >= turn["ended_at"]


# --- schedules ----------------------------------------------------------------------------


def schedules(handinger_api: httpx.Client, wid: str) -> list[dict[str, Any]]:
    body = handinger_api.get(f"/api/workers/{wid}/schedules").json()
    assert body["workerId"] == wid
    result: list[dict[str, Any]] = body["schedules"]
    return result


def advance(handinger_api: httpx.Client, seconds: float) -> None:
    now = handinger_api.post("/_emulator/clock", json={"advance": seconds}).json()["now"]
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
def test_schedule_validation(
    handinger_api: httpx.Client, body: dict[str, Any], status: int
) -> None:
    wid = create(handinger_api, "schedule me")["id"]
    response = handinger_api.post(f"/api/workers/{wid}/schedules", json=body)
    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str)
    assert schedules(handinger_api, wid) == []


def test_schedule_shapes_and_cancel(handinger_api: httpx.Client) -> None:
    wid = create(handinger_api, "shapes")["id"]
    path = f"/api/workers/{wid}/schedules"
    whens: list[dict[str, Any]] = [
        {"type": "scheduled", "date": "2030-05-01T08:00:00+00:00"},
        {"type": "delayed", "delayInSeconds": 90},
        {"type": "cron", "cron": "30 9 * * 1"},
        {"type": "interval", "intervalSeconds": 60},
    ]
    created = [handinger_api.post(path, json={"input": "ping", "when": w}).json() for w in whens]
    for item, when in zip(created, whens, strict=True):
        assert item["id"].startswith("sch_") and item["type"] == when["type"]
        assert item["input"] == "ping" and item["budget"] == "standard"
        assert ISO_MS.match(item["nextRunAt"])
    assert "date" not in created[0] and created[0]["nextRunAt"] == "2030-05-01T08:00:00.000Z"
    assert created[1]["delayInSeconds"] == 90 and created[2]["cron"] == "30 9 * * 1"
    assert created[3]["intervalSeconds"] == 60
    cron_next = datetime.fromisoformat(created[2]["nextRunAt"])
    assert (cron_next.weekday(), cron_next.hour, cron_next.minute) == (0, 9, 30)
    assert schedules(handinger_api, wid) == created
    assert handinger_api.delete(f"{path}/{created[1]['id']}").json() == {"cancelled": True}
    assert handinger_api.delete(f"{path}/{created[1]['id']}").json() == {"cancelled": False}
    assert handinger_api.delete(f"{path}/sch_unknown").json() == {"cancelled": False}
    assert handinger_api.delete("/api/workers/nope/schedules/sch_x").status_code == 404
    assert handinger_api.get("/api/workers/nope/schedules").status_code == 404
    assert len(schedules(handinger_api, wid)) == 3


def test_delayed_and_scheduled_fire_once_and_disappear(handinger_api: httpx.Client) -> None:
    wid = create(handinger_api, "base")["id"]
    wait_done(handinger_api, wid)
    path = f"/api/workers/{wid}/schedules"
    when = {"type": "delayed", "delayInSeconds": 30}
    handinger_api.post(path, json={"input": "delayed run", "when": when, "budget": "low"})
    advance(handinger_api, 31)
    assert schedules(handinger_api, wid) == []
    done = wait_done(handinger_api, wid, turns=2)
    assert done["output_text"].startswith("## delayed run")
    now = at(handinger_api.get("/_emulator/clock").json()["now"])
    date = datetime.fromtimestamp(now + 7200, UTC).isoformat()
    handinger_api.post(
        path, json={"input": "dated run", "when": {"type": "scheduled", "date": date}}
    )
    advance(handinger_api, 3600)
    assert len(schedules(handinger_api, wid)) == 1
    advance(handinger_api, 3601)
    assert schedules(handinger_api, wid) == []
    assert handinger_api.get("/_emulator/workers").json()[0]["inputs"] == [
        "base",
        "delayed run",
        "dated run",
    ]


def test_interval_and_cron_fire_and_advance(handinger_api: httpx.Client) -> None:
    wid = create(handinger_api, "base")["id"]
    wait_done(handinger_api, wid)
    path = f"/api/workers/{wid}/schedules"
    interval = handinger_api.post(
        path, json={"input": "tick", "when": {"type": "interval", "intervalSeconds": 60}}
    )
    before = at(interval.json()["nextRunAt"])
    advance(handinger_api, 61)
    (after,) = schedules(handinger_api, wid)
    assert at(after["nextRunAt"]) >= before + 60
    wait_done(handinger_api, wid, turns=2)
    handinger_api.delete(f"{path}/{after['id']}")

    cron = handinger_api.post(
        path, json={"input": "hourly", "when": {"type": "cron", "cron": "0 * * * *"}}
    )
    first = at(cron.json()["nextRunAt"])
    assert first % 3600 == 0
    advance(handinger_api, first - at(handinger_api.get("/_emulator/clock").json()["now"]) + 1)
    (moved,) = schedules(handinger_api, wid)
    assert at(moved["nextRunAt"]) == first + 3600
    done = wait_done(handinger_api, wid, turns=3)
    assert done["messages"][-2]["parts"][0]["text"] == "hourly"


def test_schedule_due_while_busy_fires_after_the_turn(handinger_api: httpx.Client) -> None:
    wid = create(handinger_api, "busy [[duration=2]]")["id"]
    path = f"/api/workers/{wid}/schedules"
    handinger_api.post(
        path, json={"input": "queued", "when": {"type": "delayed", "delayInSeconds": 5}}
    )
    advance(handinger_api, 10)
    assert handinger_api.get("/_emulator/workers").json()[0]["turns"] == 1
    assert len(schedules(handinger_api, wid)) == 1
    done = wait_done(handinger_api, wid, turns=2)
    assert done["messages"][-2]["parts"][0]["text"] == "queued"
    assert schedules(handinger_api, wid) == []


def test_clock_reads_and_advances(handinger_api: httpx.Client) -> None:
    before = at(handinger_api.get("/_emulator/clock").json()["now"])
    advance(handinger_api, 86400)
    assert at(handinger_api.get("/_emulator/clock").json()["now"]) >= before + 86400
    assert handinger_api.post("/_emulator/clock", json={"advance": -1}).status_code == 400


def test_schedules_fire_on_the_real_clock_too(handinger_api: httpx.Client) -> None:
    wid = create(handinger_api, "base")["id"]
    wait_done(handinger_api, wid)
    when = {"type": "delayed", "delayInSeconds": 1}
    handinger_api.post(f"/api/workers/{wid}/schedules", json={"input": "soon", "when": when})
    assert wait_done(handinger_api, wid, turns=2)["output_text"].startswith("## soon")
    assert schedules(handinger_api, wid) == []


def test_cli_flags() -> None:
    args = ["--port", "0", "--api-key", "k2", "--stream-format", "worker", "--done-sentinel"]
    args += ["--turn-seconds", "0.1", "--chunks", "2", "--blocking", "--idle-stream", "204"]
    args += ["--time-scale", "60"]
    with (
        running(HANDINGER, args) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k2"}) as handinger_api,
    ):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.output[0] == f"listening on {server.url}"
        assert config(handinger_api) == {
            "stream_format": "worker",
            "done_sentinel": True,
            "turn_seconds": 0.1,
            "chunks": 2,
            "time_scale": 60.0,
            "blocking": True,
            "idle_stream": "204",
            "idempotency_keys": True,
        }
        worker = create(handinger_api, "blocking")
        assert worker["status"] == "completed"
        assert handinger_api.get(f"/api/workers/{worker['id']}/stream").status_code == 204
        with handinger_api.stream("POST", "/api/workers", json={"input": "s", "stream": True}) as r:
            raw = sse(r)
        assert raw[-1] == "[DONE]" and json.loads(raw[0])["object"] == "worker"
