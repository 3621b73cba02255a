"""Driving the Handinger emulator's HTTP API with plain httpx (not the app's client), for the
emulator's own tests."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest


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
