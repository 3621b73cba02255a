"""The emulators' fault controls the suite relies on: the Nth matching call, `match`, `hold`
and `close` (Slack), malformed SSE and scripted answers (Handinger)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from emulators.credentials import BOT_TOKEN, HANDINGER_KEY
from emulators.harness import Emulators
from tests.e2e import wait_until

API_AUTH = {"Authorization": f"Bearer {BOT_TOKEN}"}


@pytest.fixture
def slack(fault_emulators: Emulators) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fault_emulators.slack.url, timeout=15) as client:
        client.post("/_emulator/reset").raise_for_status()
        client.post("/_emulator/rate-limits", json={"mode": "off"}).raise_for_status()
        yield client
        client.post("/_emulator/release")


@pytest.fixture
def handinger(fault_emulators: Emulators) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {HANDINGER_KEY}"}
    with httpx.Client(base_url=fault_emulators.handinger.url, headers=auth, timeout=15) as client:
        client.post("/_emulator/reset").raise_for_status()
        yield client


def post(slack: httpx.Client, text: str, **more: Any) -> httpx.Response:
    body = {"channel": "C0001", "text": text, **more}
    return slack.post("/api/chat.postMessage", json=body, headers=API_AUTH)


def texts(slack: httpx.Client) -> list[str]:
    messages = slack.get("/_emulator/channels/C0001/messages").json()["messages"]
    return [m["text"] for m in messages]


def test_a_slack_fault_can_let_n_calls_through_and_match_arguments(slack: httpx.Client) -> None:
    spec = {"method": "chat.postMessage", "status": 500, "after": 1, "match": "target"}
    slack.post("/_emulator/faults", json=spec).raise_for_status()
    assert post(slack, "other").json()["ok"]  # does not match: not counted
    assert post(slack, "target one").json()["ok"]  # the first matching call goes through
    failed = post(slack, "target two")
    assert failed.status_code == 500 and failed.json()["error"] == "internal_error"
    assert post(slack, "target three").json()["ok"]
    assert texts(slack) == ["other", "target one", "target three"]
    assert slack.get("/_emulator/faults").json()["faults"] == []


def test_a_held_slack_call_takes_effect_and_answers_when_released(slack: httpx.Client) -> None:
    slack.post("/_emulator/faults", json={"method": "chat.postMessage", "action": "hold"})
    answers: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answers.append(post(slack, "held")))
    caller.start()
    wait_until(lambda: slack.get("/_emulator/faults").json()["held"] == 1, timeout=10)
    assert texts(slack) == ["held"] and answers == []  # done, but not answered yet
    assert slack.post("/_emulator/release").json()["released"] == 1
    caller.join(10)
    assert answers[0].json()["ok"]
    assert slack.get("/_emulator/calls").json()["calls"][0]["fault"] == "hold"


def test_holds_can_be_armed_listed_and_released_on_their_own(slack: httpx.Client) -> None:
    rule = {"method": "chat.postMessage", "count": 2, "team": "T0001"}
    assert slack.post("/_emulator/holds", json=rule).json()["rules"] == [rule]
    callers = [threading.Thread(target=post, args=(slack, f"n{n}")) for n in range(2)]
    for caller in callers:
        caller.start()
    wait_until(lambda: len(slack.get("/_emulator/holds").json()["held"]) == 2, timeout=10)
    assert slack.post("/_emulator/release", json={"count": 1}).json()["released"] == 1
    assert slack.post("/_emulator/release").json() == {"ok": True, "released": 1}
    for caller in callers:
        caller.join(10)
    assert slack.post("/_emulator/holds", json={"method": "x", "count": 0}).status_code == 400
    listing = slack.get("/_emulator/holds").json()
    assert listing["rules"] == [] and listing["held"] == []


def test_a_closed_slack_call_drops_the_connection_with_or_without_effect(
    slack: httpx.Client,
) -> None:
    slack.post("/_emulator/faults", json={"method": "chat.postMessage", "action": "close"})
    with pytest.raises(httpx.RemoteProtocolError):
        post(slack, "never posted")
    spec = {"method": "chat.postMessage", "action": "close", "performed": True}
    slack.post("/_emulator/faults", json=spec)
    with pytest.raises(httpx.RemoteProtocolError):
        post(slack, "posted, unanswered")
    assert texts(slack) == ["posted, unanswered"]
    statuses = [c["status"] for c in slack.get("/_emulator/calls").json()["calls"]]
    assert statuses == [None, None]  # neither was answered


def test_upload_and_response_urls_take_faults_too(slack: httpx.Client) -> None:
    made = slack.post(
        "/api/files.getUploadURLExternal",
        data={"filename": "a.txt", "length": "2"},
        headers=API_AUTH,
    ).json()
    slack.post("/_emulator/faults", json={"method": "upload", "status": 503})
    assert httpx.post(made["upload_url"], content=b"hi").status_code == 503
    assert httpx.post(made["upload_url"], content=b"hi").status_code == 200
    said = slack.post("/_emulator/slash", json={"channel": "C0001", "user": "U0001", "text": "x"})
    url = said.json()["response_url"]
    slack.post("/_emulator/faults", json={"method": "response_url", "status": 500})
    assert httpx.post(url, json={"text": "one"}).status_code == 500
    assert httpx.post(url, json={"text": "two"}).status_code == 200
    shown = slack.get("/_emulator/ephemeral").json()["ephemeral"]
    assert [e["text"] for e in shown] == ["two"]


def test_a_bad_slack_fault_is_refused(slack: httpx.Client) -> None:
    for spec in ({"method": "x", "action": "explode"}, {"method": "x", "after": -1}, {}):
        assert slack.post("/_emulator/faults", json=spec).status_code == 400


def test_a_handinger_fault_can_let_n_requests_through(handinger: httpx.Client) -> None:
    spec = {"status": 500, "method": "POST", "path": "^/api/workers$", "after": 2}
    handinger.post("/_emulator/faults", json=spec).raise_for_status()
    statuses = [
        handinger.post("/api/workers", json={"input": f"n{n}"}).status_code for n in range(4)
    ]
    assert statuses == [200, 200, 500, 200]


def test_a_stream_fault_can_skip_streams_and_inject_raw_bytes(handinger: httpx.Client) -> None:
    fault = {"after": 1, "inject_after": 1, "inject": "data: {bad json\n\n"}
    handinger.post("/_emulator/stream-faults", json=fault).raise_for_status()
    bodies = []
    for n in range(3):
        with handinger.stream(
            "POST", "/api/workers", json={"input": f"s{n} [[duration=0.2]]", "stream": True}
        ) as response:
            bodies.append(response.read().decode())
    assert "{bad json" not in bodies[0]
    assert bodies[1].count("{bad json") == 1
    first, second = bodies[1].split("\n\n")[:2]
    assert json.loads(first.removeprefix("data: "))["type"] == "start"
    assert second == "data: {bad json"
    assert "{bad json" not in bodies[2]


def test_scripted_answers_replace_the_next_matching_turns(handinger: httpx.Client) -> None:
    sources = [{"url": "https://evil.example", "title": "https://bank.example"}]
    answer = {"text": "<!channel> exactly this", "match": "hostile", "sources": sources}
    handinger.post("/_emulator/answers", json=answer).raise_for_status()
    plain = handinger.post("/api/workers", json={"input": "plain [[duration=0.1]]"}).json()
    odd = handinger.post("/api/workers", json={"input": "hostile [[duration=0.1]]"}).json()
    again = handinger.post("/api/workers", json={"input": "hostile [[duration=0.1]]"}).json()

    def done(worker_id: str) -> dict[str, Any] | None:
        worker: dict[str, Any] = handinger.get(f"/api/workers/{worker_id}").json()
        return None if worker["running"] else worker

    odd_done = wait_until(lambda: done(odd["id"]), timeout=10)
    assert odd_done["output_text"] == "<!channel> exactly this"
    assert [(s["url"], s["title"]) for s in odd_done["sources"]] == [
        ("https://evil.example", "https://bank.example")
    ]
    for other in (plain["id"], again["id"]):  # not matching, or the answer was used up
        finished = wait_until(partial(done, other), timeout=10)
        assert finished["output_text"] != "<!channel> exactly this"
    bad = handinger.post("/_emulator/answers", json={"text": 3})
    assert bad.status_code == 400
