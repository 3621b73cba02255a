"""The Slack emulator's agent surfaces, driven by slack_sdk: assistant threads and their
methods, stream chunks and expiry, the App Home."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulators.harness import Child
from tests.slack_emulator import Control, emulator, fresh_control, web_client


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    with emulator("--rate-limits", "off") as proc:
        yield proc


@pytest.fixture
def control(server: Child) -> Control:
    return fresh_control(server)


@pytest.fixture
def client(server: Child) -> WebClient:
    return web_client(server)


def open_thread(control: Control) -> tuple[str, str]:
    opened = control.post("/_emulator/assistant/threads", {"user": "U0001"})
    return str(opened["channel"]), str(opened["thread_ts"])


def test_an_assistant_thread_keeps_prompts_title_and_statuses(
    control: Control, client: WebClient
) -> None:
    dm, root = open_thread(control)
    prompts = [{"title": "A", "message": "do a"}]
    client.assistant_threads_setSuggestedPrompts(channel_id=dm, thread_ts=root, prompts=prompts)
    client.assistant_threads_setTitle(channel_id=dm, thread_ts=root, title="Otters")
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=root, status="is thinking…")
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=root, status="")
    [thread] = control.get("/_emulator/assistant/threads")["threads"]
    assert thread["prompts"] == prompts and thread["title"] == "Otters"
    assert thread["statuses"] == ["is thinking…", ""]
    assert thread["user"] == "U0001" and thread["channel"] == dm


@pytest.mark.parametrize(
    "prompts",
    [[], [{"title": "t", "message": ""}], [{"title": str(i), "message": "m"} for i in range(5)]],
)
def test_bad_suggested_prompts_are_refused(
    control: Control, client: WebClient, prompts: list[dict[str, str]]
) -> None:
    dm, root = open_thread(control)
    with pytest.raises(SlackApiError) as refused:
        client.assistant_threads_setSuggestedPrompts(channel_id=dm, thread_ts=root, prompts=prompts)
    assert refused.value.response["error"] == "invalid_arguments"


def test_title_of_an_unknown_thread_is_refused(control: Control, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.assistant_threads_setTitle(channel_id="D0001", thread_ts="1.000001", title="x")
    assert refused.value.response["error"] == "invalid_thread_ts"


def test_an_expired_stream_takes_no_more_appends(control: Control, client: WebClient) -> None:
    root = client.chat_postMessage(channel="C0001", text="root")["ts"]
    chunks = [{"type": "task_update", "id": "s1", "title": "Search", "status": "in_progress"}]
    started = client.chat_startStream(
        channel="C0001",
        thread_ts=root,
        recipient_user_id="U0001",
        recipient_team_id="T0001",
        chunks=chunks,
    )
    ts = started["ts"]
    client.chat_appendStream(
        channel="C0001", ts=ts, chunks=[{"type": "markdown_text", "text": "a"}]
    )
    with pytest.raises(SlackApiError) as conflict:
        client.chat_update(channel="C0001", ts=ts, text="edited")
    assert conflict.value.response["error"] == "streaming_state_conflict"
    assert control.post("/_emulator/streams/expire", {"ts": ts})["expired"] == [ts]
    with pytest.raises(SlackApiError) as gone:
        client.chat_appendStream(channel="C0001", ts=ts, markdown_text="b")
    assert gone.value.response["error"] == "message_not_in_streaming_state"
    client.chat_update(channel="C0001", ts=ts, text="the whole answer")  # editable now
    [message] = next(m for m in control.messages() if m["ts"] == root)["replies"]
    assert message["text"] == "the whole answer"
    assert [c["type"] for c in message["stream"]["chunks"]] == ["task_update", "markdown_text"]


def test_app_home_opened_and_published(control: Control, client: WebClient) -> None:
    client.views_publish(user_id="U0001", view={"type": "home", "blocks": []})
    opened = control.post("/_emulator/home", {"user": "U0001"})
    assert opened["ok"] and len(opened["event_ids"]) == 1
    view = control.get("/_emulator/home", user="U0001")["view"]
    assert view["type"] == "home"
    assert control.get("/_emulator/home", user="U0002")["view"] is None
