"""The Slack emulator's controls for crash windows: held calls and message metadata."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from emulators.harness import Child
from tests.slack_emulator import Control, emulator, fresh_control, web_client

METADATA = {"event_type": "handinger_run", "event_payload": {"run_id": 7, "ref": "abc"}}


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    with emulator() as proc:
        yield proc


@pytest.fixture
def control(server: Child) -> Control:
    return fresh_control(server, rate_limits=False)


@pytest.fixture
def client(server: Child, control: Control) -> WebClient:
    return web_client(server)


def held(control: Control, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found: list[dict[str, Any]] = control.get("/_emulator/holds")["held"]
        if len(found) >= count:
            return found
        time.sleep(0.02)
    pytest.fail("no call was held")


def test_a_held_post_exists_before_its_answer(client: WebClient, control: Control) -> None:
    control.post("/_emulator/holds", {"method": "chat.postMessage"})
    answer: dict[str, Any] = {}

    def post() -> None:
        answer["ts"] = client.chat_postMessage(channel="C0001", text="held")["ts"]

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    [call] = held(control)
    assert call["method"] == "chat.postMessage" and call["team"] == "T0001"
    [message] = control.messages()  # posted already
    assert "ts" not in answer
    assert control.post("/_emulator/release") == {"ok": True, "released": 1}
    thread.join(10)
    assert answer["ts"] == message["ts"]
    assert client.chat_postMessage(channel="C0001", text="not held")["ok"]  # count was 1
    listing = control.get("/_emulator/holds")
    assert listing["rules"] == [] and listing["held"] == []


def test_holds_are_validated_and_reset(control: Control) -> None:
    bad = control.post("/_emulator/holds", {"method": "chat.update", "count": 0}, ok=False)
    assert bad["error"] == "invalid_count"
    missing = control.post("/_emulator/holds", {"count": 1}, ok=False)
    assert missing["error"] == "invalid_arguments"
    control.post("/_emulator/holds", {"method": "chat.update", "count": 2, "team": "T0001"})
    assert control.get("/_emulator/holds")["rules"] == [
        {"method": "chat.update", "count": 2, "team": "T0001"}
    ]
    control.reset()
    assert control.get("/_emulator/holds")["rules"] == []


def test_history_returns_metadata_only_when_asked(client: WebClient, control: Control) -> None:
    root = client.chat_postMessage(channel="C0001", text="card", metadata=METADATA)
    assert root["message"]["metadata"] == METADATA
    client.chat_postMessage(channel="C0001", text="reply", thread_ts=root["ts"], metadata=METADATA)
    plain = client.conversations_history(channel="C0001")["messages"]
    assert all("metadata" not in m for m in plain)
    full = client.conversations_history(channel="C0001", include_all_metadata=True)["messages"]
    assert [m["metadata"] for m in full] == [METADATA]
    thread = client.conversations_replies(channel="C0001", ts=root["ts"])["messages"]
    assert all("metadata" not in m for m in thread)
    thread = client.conversations_replies(
        channel="C0001", ts=root["ts"], include_all_metadata=True
    )["messages"]
    assert [m["metadata"] for m in thread] == [METADATA, METADATA]
