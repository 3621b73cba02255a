"""The Slack emulator's sandbox page routes, over HTTP without a browser: the page and its
assets, the live feed's first frame and its deltas, edit histories, the Handinger panel's
window, and how `handinger-slack sandbox` starts (port taken, fresh state, no
emulators installed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.launch import SandboxError, check_port_free, fresh_state, sandbox_settings
from emulators.credentials import BOT_TOKEN, HANDINGER_KEY
from emulators.harness import HANDINGER, SLACK, Child, running


@pytest.fixture(scope="module")
def handinger() -> Iterator[Child]:
    with running(HANDINGER, ["--port", "0", "--turn-seconds", "0.2"]) as server:
        yield server


@pytest.fixture(scope="module")
def slack(handinger: Child) -> Iterator[Child]:
    with running(SLACK, ["--port", "0", "--handinger-url", handinger.url]) as s:
        yield s


@pytest.fixture
def client(slack: Child) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=slack.url, timeout=10) as c:
        c.post("/_emulator/reset").raise_for_status()
        yield c


def frames(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The `update` events of an open SSE response, decoded."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def test_a_browser_is_sent_to_the_page_and_api_clients_keep_the_json(
    client: httpx.Client,
) -> None:
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 302 and page.headers["location"] == "/sandbox/"
    assert client.get("/").json()["emulator"] == "slack"
    html = client.get("/sandbox/")
    assert "Content-Security-Policy" in html.text and "script-src 'self'" in html.text
    script = client.get("/sandbox/static/js/main.js")
    assert script.status_code == 200 and "EventSource" in script.text


def test_the_feed_sends_everything_first_then_only_what_changed(client: httpx.Client) -> None:
    client.post("/_emulator/messages", json={"channel": "C0001", "user": "U0001", "text": "one"})
    with client.stream("GET", "/_sandbox/events", timeout=20) as response:
        feed = frames(response)
        first = next(feed)
        assert first["full"] is True
        assert {c["id"] for c in first["directory"]["channels"]} >= {"C0001", "G0001", "D0001"}
        assert [m["text"] for m in first["messages"]] == ["one"]
        posted = client.post(
            "/_emulator/messages",
            json={"channel": "C0001", "user": "U0002", "text": "two &lt;b&gt;"},
        ).json()
        update = next(feed)
        assert "full" not in update and "directory" not in update
        assert [m["ts"] for m in update["messages"]] == [posted["ts"]]
        typed = update["messages"][0]["blocks"][0]["elements"][0]["elements"][0]["text"]
        assert typed == "two <b>"  # rich_text carries what was typed; `text` stays escaped


def test_a_messages_history_lists_every_stored_version(client: httpx.Client) -> None:
    token = {"Authorization": f"Bearer {BOT_TOKEN}"}
    posted = client.post(
        "/api/chat.postMessage", headers=token, json={"channel": "C0001", "text": "v0"}
    ).json()
    for text in ("v1", "v2"):
        client.post(
            "/api/chat.update",
            headers=token,
            json={"channel": "C0001", "ts": posted["ts"], "text": text},
        ).raise_for_status()
    history = client.get(f"/_sandbox/history/C0001/{posted['ts']}").json()
    assert [v["text"] for v in history["versions"]] == ["v0", "v1", "v2"]
    assert [v["source"] for v in history["versions"]] == [
        "chat.postMessage",
        "chat.update",
        "chat.update",
    ]
    assert client.get("/_sandbox/history/C0001/1.000001").status_code == 404


def test_the_handinger_panel_reads_the_handinger_emulator(client: httpx.Client) -> None:
    overview = client.get("/_sandbox/handinger/overview").json()
    assert isinstance(overview["workers"], list)
    assert "now" in overview and isinstance(overview["schedules"], list)
    moved = client.post("/_sandbox/handinger/clock", json={"advance": 60})
    assert moved.status_code == 200 and "now" in moved.json()
    refused = client.post("/_sandbox/handinger/reset")
    assert refused.status_code == 404  # only the panel's own calls go through


def test_the_panel_knows_each_workers_keys(client: httpx.Client, handinger: Child) -> None:
    """The key a client sent with a worker's create is listed with the worker: the page joins
    it to the app's message metadata, so a worker links to its card while still running."""
    created = httpx.post(
        f"{handinger.url}/api/workers",
        json={"input": "Count the invoices"},
        headers={"Authorization": f"Bearer {HANDINGER_KEY}", "Idempotency-Key": "run-ref-1"},
        timeout=10,
    ).json()
    workers = client.get("/_sandbox/handinger/overview").json()["workers"]
    assert next(w["keys"] for w in workers if w["id"] == created["id"]) == ["run-ref-1"]


def test_closing_a_modal_forgets_it(client: httpx.Client) -> None:
    assert client.post("/_sandbox/views/V404/close").json() == {"ok": False}


def test_a_taken_port_is_refused_with_what_to_do() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(SandboxError, match=rf"Port {port} is already in use.*SANDBOX_PORT"):
            check_port_free(port)


def test_each_start_is_fresh_and_says_so(tmp_path: Path) -> None:
    first = fresh_state(tmp_path / ".sandbox")
    assert first.startswith("Fresh sandbox: nothing is kept") and "cleared" not in first
    (tmp_path / ".sandbox" / "sandbox.db").write_text("old")
    line = fresh_state(tmp_path / ".sandbox")
    assert line.startswith("Fresh sandbox") and "sandbox/ was cleared" in line
    assert not (tmp_path / ".sandbox" / "sandbox.db").exists()


NO_EMULATORS = """
import sys

class Absent:
    \"\"\"Finds no `emulators`, as in the Docker image, which ships `bot/` alone.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "emulators":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Absent())
from bot.cli import main
sys.exit(main(["sandbox", "--port", "0", "--web-port", "0"]))
"""


def test_sandbox_without_the_emulators_says_to_use_a_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDINGER_"))}
    done = subprocess.run(
        [sys.executable, "-c", NO_EMULATORS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "emulators are not installed" in done.stderr and "`make run`" in done.stderr
    assert not (tmp_path / ".sandbox").exists(), "nothing is started or written first"


def test_the_sandbox_keeps_its_state_to_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's settings left in the environment (README: set DATABASE_URL) must not
    send the sandbox's runs to their real database, nor turn it into an OAuth app."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db.internal:5432/handinger")
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "real-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "real-signing-secret")
    settings = sandbox_settings("http://127.0.0.1:1", "http://127.0.0.1:2", tmp_path, 0)
    assert settings.postgres_url is None
    assert settings.handinger_db == tmp_path / "sandbox.db"
    assert not settings.oauth and settings.mode == "socket"
    assert settings.slack_signing_secret is None
