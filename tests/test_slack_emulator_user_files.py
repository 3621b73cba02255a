"""The Slack emulator plays people sharing files, message shortcuts and the Tier 1 history
limit, in Slack's shapes (driven by slack_sdk and plain HTTP)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulators.credentials import BOT_TOKEN
from emulators.harness import Child
from tests.slack_emulator import Control, emulator, fresh_control, web_client


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    """With the repository's manifest: its scopes and its message shortcut."""
    with emulator() as proc:
        yield proc


@pytest.fixture
def control(server: Child) -> Control:
    return fresh_control(server)


@pytest.fixture
def client(server: Child, control: Control) -> WebClient:
    return web_client(server)


def share(control: Control, **body: object) -> dict[str, object]:
    result: dict[str, object] = control.post(
        "/_emulator/messages", {"channel": "C0001", "user": "U0001", **body}
    )
    return result


def test_a_shared_file_arrives_on_the_message_and_downloads_only_with_the_bot_token(
    control: Control, client: WebClient
) -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    posted = share(
        control,
        text="",
        files=[{"name": "a b.txt", "text": "hello"}, {"name": "c.png", "base64": png}],
    )
    [message] = client.conversations_history(channel="C0001")["messages"]
    assert message["subtype"] == "file_share"
    text_file, image = message["files"]
    assert [text_file["id"], image["id"]] == posted["files"]
    assert (text_file["name"], text_file["mimetype"], text_file["size"]) == (
        "a b.txt",
        "text/plain",
        5,
    )
    assert image["mimetype"] == "image/png"
    url = text_file["url_private"]
    assert "a%20b.txt" in url
    assert httpx.get(url).status_code == 403
    assert httpx.get(url, headers={"Authorization": "Bearer xoxb-wrong"}).status_code == 403
    ok = httpx.get(url, headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert ok.status_code == 200 and ok.content == b"hello"
    logged = control.calls(method="url_private")
    assert [(c["status"], c["args"]["authorized"]) for c in logged] == [
        (403, False),
        (403, False),
        (200, True),
    ]
    assert client.files_info(file=image["id"])["file"]["name"] == "c.png"
    with pytest.raises(SlackApiError) as missing:
        client.files_info(file="F00000000")
    assert missing.value.response["error"] == "file_not_found"


def test_without_files_read_neither_files_info_nor_url_private_work(
    control: Control, client: WebClient
) -> None:
    posted = share(control, text="see", files=[{"name": "x.log", "text": "x"}])
    scopes = ["chat:write", "channels:history"]
    control.post("/_emulator/scopes", {"scopes": scopes})
    file_ids = posted["files"]
    assert isinstance(file_ids, list)
    with pytest.raises(SlackApiError) as refused:
        client.files_info(file=str(file_ids[0]))
    assert refused.value.response["error"] == "missing_scope"
    [message] = client.conversations_history(channel="C0001")["messages"]
    url = message["files"][0]["url_private"]
    denied = httpx.get(url, headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert denied.status_code == 403 and denied.json()["error"] == "missing_scope"


def test_a_file_can_claim_to_live_elsewhere(control: Control, client: WebClient) -> None:
    share(
        control,
        text="x",
        files=[{"name": "a.txt", "text": "a", "url_private": "https://x.example/a"}],
    )
    [message] = client.conversations_history(channel="C0001")["messages"]
    assert message["files"][0]["url_private"] == "https://x.example/a"


def test_a_message_shortcut_exists_only_when_the_manifest_declares_it(
    control: Control,
) -> None:
    ts = share(control, text="hello")["ts"]
    unknown = control.http.post(
        "/_emulator/shortcuts",
        json={"channel": "C0001", "message_ts": ts, "user": "U0001", "callback_id": "nope"},
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "shortcut_not_found"
    missing = control.http.post(
        "/_emulator/shortcuts",
        json={
            "channel": "C0001",
            "message_ts": "1.2",
            "user": "U0001",
            "callback_id": "ask_handinger",
        },
    )
    assert missing.status_code == 404 and missing.json()["error"] == "message_not_found"


def test_the_limited_history_tier_caps_pages_at_15_and_one_call_a_minute(
    control: Control, client: WebClient
) -> None:
    root = str(share(control, text="root")["ts"])
    for n in range(20):
        share(control, text=f"reply {n}", thread_ts=root)
    assert len(client.conversations_replies(channel="C0001", ts=root)["messages"]) == 21
    control.post("/_emulator/config", {"history": "limited"})
    page = client.conversations_replies(channel="C0001", ts=root, limit=200)
    assert len(page["messages"]) == 15 and page["has_more"]
    with pytest.raises(SlackApiError) as limited:
        client.conversations_replies(channel="C0001", ts=root)
    assert limited.value.response.status_code == 429
    control.post("/_emulator/config", {"history": "internal"})
    assert len(client.conversations_replies(channel="C0001", ts=root)["messages"]) == 21
