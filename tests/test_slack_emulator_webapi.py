"""The Slack emulator's Web API, driven by the real slack_sdk clients (sync and async)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from emulators.credentials import APP_TOKEN, BOT_TOKEN
from emulators.harness import Child
from tests.slack_emulator import Control, emulator, error_of, fresh_control, web_client

# Some tests post blocks without fallback text on purpose; slack_sdk warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:The top-level `text` argument:UserWarning")


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    """Without the app's manifest: every method here is exercised, whatever its scope."""
    with emulator("--manifest", "none") as proc:
        yield proc


@pytest.fixture
def control(server: Child) -> Control:
    """A fresh emulator; rate limits off unless a test is about them (it turns them on)."""
    return fresh_control(server, rate_limits=False)


def strict(control: Control) -> None:
    control.post("/_emulator/rate-limits", {"mode": "strict"})


@pytest.fixture
def client(server: Child, control: Control) -> WebClient:
    return web_client(server)


@pytest.fixture
def aclient(server: Child, control: Control) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=server.url + "/api/")


def test_auth_test_and_token_errors(server: Child, client: WebClient) -> None:
    me = client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T0001", "U0BOT", "B0001")
    base = server.url + "/api/"
    assert error_of(WebClient(base_url=base).auth_test)["error"] == "not_authed"
    assert error_of(WebClient(token="xoxb-nope", base_url=base).auth_test)["error"] == (
        "invalid_auth"
    )
    app = WebClient(token=APP_TOKEN, base_url=base)
    post = error_of(lambda: app.chat_postMessage(channel="C0001", text="x"))
    assert post["error"] == "not_allowed_token_type"
    assert error_of(lambda: client.api_call("chat.nonsense"))["error"] == "unknown_method"
    opened = app.apps_connections_open(app_token=APP_TOKEN)
    assert opened["url"].startswith("ws://") and "ticket=" in opened["url"]
    assert error_of(lambda: client.apps_connections_open(app_token=BOT_TOKEN))["error"] == (
        "not_allowed_token_type"
    )


def test_post_update_delete_and_history(client: WebClient, control: Control) -> None:
    posted = client.chat_postMessage(channel="C0001", text="first <@U0001>")
    assert posted["message"]["bot_id"] == "B0001" and posted["channel"] == "C0001"
    ts = posted["ts"]
    client.chat_update(channel="C0001", ts=ts, text="second")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "third"}}]
    client.chat_update(channel="C0001", ts=ts, blocks=blocks)
    reply = client.chat_postMessage(channel="C0001", thread_ts=ts, text="in thread")
    nested = client.chat_postMessage(channel="C0001", thread_ts=reply["ts"], text="reply ts")
    assert nested["message"]["thread_ts"] == ts  # a reply's ts means its root's thread

    [root] = control.messages()
    assert [e["text"] for e in root["edits"]] == ["first <@U0001>", "second", "second"]
    assert [e["source"] for e in root["edits"]] == [
        "chat.postMessage",
        "chat.update",
        "chat.update",
    ]
    assert root["blocks"] == blocks and root["bot_id"] == "B0001" and root["user"] == "U0BOT"
    assert [r["text"] for r in root["replies"]] == ["in thread", "reply ts"]

    thread = client.conversations_replies(channel="C0001", ts=ts)
    assert [m["text"] for m in thread["messages"]] == ["second", "in thread", "reply ts"]
    assert thread["messages"][0]["reply_count"] == 2
    link = client.chat_getPermalink(channel="C0001", message_ts=reply["ts"])["permalink"]
    assert link.startswith("https://emulator.slack.com/archives/C0001/p") and "thread_ts=" in link

    client.chat_delete(channel="C0001", ts=reply["ts"])
    assert len(client.conversations_replies(channel="C0001", ts=ts)["messages"]) == 2
    assert error_of(lambda: client.chat_delete(channel="C0001", ts=reply["ts"]))["error"] == (
        "message_not_found"
    )


def test_channel_and_message_errors(client: WebClient, control: Control) -> None:
    def err(**kwargs: Any) -> str:
        return str(error_of(lambda: client.chat_postMessage(**kwargs))["error"])

    assert err(channel="C9999", text="x") == "channel_not_found"
    assert err(channel="C0002", text="x") == "not_in_channel"
    control.post("/_emulator/channels", {"name": "secret", "type": "private", "bot_member": False})
    secret = control.post("/_emulator/channels", {"type": "private", "bot_member": False})
    assert err(channel=secret["channel"]["id"], text="x") == "channel_not_found"
    assert err(channel="C0001") == "no_text"
    user_ts = control.post(
        "/_emulator/messages", {"channel": "C0001", "user": "U0001", "text": "hi"}
    )
    updating = error_of(lambda: client.chat_update(channel="C0001", ts=user_ts["ts"], text="no"))
    assert updating["error"] == "cant_update_message"
    missing = error_of(lambda: client.chat_update(channel="C0001", ts="1.000001", text="no"))
    assert missing["error"] == "message_not_found"
    assert client.conversations_join(channel="C0002")["channel"]["is_member"] is True
    assert client.chat_postMessage(channel="C0002", text="now I can")["ok"]
    members = client.conversations_members(channel="C0001")["members"]
    assert members == ["U0001", "U0002", "U0BOT"]
    assert client.users_info(user="U0001")["user"]["is_admin"] is True
    assert client.conversations_info(channel="G0001")["channel"]["is_private"] is True


def test_block_and_length_limits(client: WebClient, control: Control) -> None:
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    invalid = error_of(lambda: client.chat_postMessage(channel="C0001", blocks=long_section))
    assert invalid["error"] == "invalid_blocks"
    assert "/blocks/0/text/text" in invalid["errors"][0]
    fine = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}]
    assert client.chat_postMessage(channel="C0001", blocks=fine)["ok"]
    many = [{"type": "divider"}] * 51
    assert error_of(lambda: client.chat_postMessage(channel="C0001", blocks=many))["error"] == (
        "msg_blocks_too_many"
    )
    markdown = [{"type": "markdown", "text": "m" * 6001}, {"type": "markdown", "text": "m" * 6000}]
    too_much = error_of(lambda: client.chat_postMessage(channel="C0001", blocks=markdown))
    assert too_much["error"] == "invalid_blocks"
    both = error_of(
        lambda: client.chat_postMessage(channel="C0001", text="a", markdown_text="**b**")
    )
    assert both["error"] == "markdown_text_conflict"

    truncated = client.chat_postMessage(channel="C0001", text="y" * 40_001)
    assert truncated["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(truncated["message"]["text"]) == 40_000
    control.post("/_emulator/config", {"long_text": "reject"})
    rejected = error_of(lambda: client.chat_postMessage(channel="C0001", text="y" * 40_001))
    assert rejected["error"] == "msg_too_long"


async def test_async_client_query_params_and_files_upload_v2(
    server: Child, aclient: AsyncWebClient, control: Control
) -> None:
    root = await aclient.chat_postMessage(channel="C0001", text="files below")
    uploaded = await aclient.files_upload_v2(
        channel="C0001",
        thread_ts=root["ts"],
        content=b"\x00binary\xffpayload",
        filename="report.bin",
        title="The report",
        initial_comment="here it is",
    )
    file = uploaded["file"]
    assert file["name"] == "report.bin" and file["title"] == "The report"
    replies = await aclient.conversations_replies(channel="C0001", ts=root["ts"])
    assert replies["messages"][1]["files"][0]["id"] == file["id"]
    assert replies["messages"][1]["text"] == "here it is"

    [listed] = control.messages()
    [reply] = listed["replies"]
    [stored] = reply["files"]
    assert (stored["name"], stored["title"], stored["size"]) == ("report.bin", "The report", 15)
    assert httpx.get(stored["download_url"]).content == b"\x00binary\xffpayload"
    private = httpx.get(stored["url_private"], headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert private.content == b"\x00binary\xffpayload"
    assert httpx.get(stored["url_private"]).status_code == 403

    verbs = {c["method"]: c["http_verb"] for c in control.calls()}
    assert verbs["conversations.replies"] == "GET"  # the async client sends GETs as GETs
    assert verbs["files.getUploadURLExternal"] == "POST"


def test_sync_files_upload_v2_to_channel(client: WebClient, control: Control) -> None:
    result = client.files_upload_v2(channel="C0001", content="hello", filename="a.txt")
    assert result["file"]["mimetype"] == "text/plain"
    [message] = control.messages()
    assert message["files"][0]["name"] == "a.txt" and message["thread_ts"] is None


def test_chat_stream_helper(client: WebClient, control: Control) -> None:
    root = client.chat_postMessage(channel="C0001", text="question")
    stream = client.chat_stream(
        channel="C0001",
        thread_ts=root["ts"],
        recipient_team_id="T0001",
        recipient_user_id="U0001",
        buffer_size=5,
    )
    stream.append(markdown_text="Hello")
    stream.append(markdown_text=", wor")
    assert stream._stream_ts is not None
    conflict = error_of(
        lambda: client.chat_update(channel="C0001", ts=str(stream._stream_ts), text="no")
    )
    assert conflict["error"] == "streaming_state_conflict"
    stream.stop(markdown_text="ld!")
    [listed] = control.messages()
    [streamed] = listed["replies"]
    assert streamed["text"] == "Hello, world!"
    assert streamed["stream"]["state"] == "completed"
    assert [e["source"] for e in streamed["edits"]] == [
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    ]
    appended = error_of(
        lambda: client.chat_appendStream(channel="C0001", ts=streamed["ts"], markdown_text="x")
    )
    assert appended["error"] == "message_not_in_streaming_state"
    missing = error_of(
        lambda: client.chat_startStream(channel="C0001", thread_ts=root["ts"], markdown_text="x")
    )
    assert missing["error"] == "missing_recipient_user_id"


def test_reactions_ephemeral_and_status(client: WebClient, control: Control) -> None:
    ts = client.chat_postMessage(channel="C0001", text="react")["ts"]
    client.reactions_add(channel="C0001", timestamp=ts, name="hourglass")
    again = error_of(lambda: client.reactions_add(channel="C0001", timestamp=ts, name="hourglass"))
    assert again["error"] == "already_reacted"
    assert control.messages()[0]["reactions"] == [
        {"name": "hourglass", "users": ["U0BOT"], "count": 1}
    ]
    client.reactions_remove(channel="C0001", timestamp=ts, name="hourglass")
    assert control.messages()[0]["reactions"] == []

    sent = client.chat_postEphemeral(channel="C0001", user="U0002", text="only you")
    [record] = control.get("/_emulator/ephemeral", user="U0002")["ephemeral"]
    assert record["ts"] == sent["message_ts"] and record["text"] == "only you"
    outsider = error_of(lambda: client.chat_postEphemeral(channel="G0001", user="U0002", text="x"))
    assert outsider["error"] == "user_not_in_channel"

    dm_ts = client.chat_postMessage(channel="U0001", text="hello in DM")
    assert dm_ts["channel"] == "D0001"
    client.assistant_threads_setStatus(
        channel_id="D0001", thread_ts=dm_ts["ts"], status="is thinking"
    )
    assert control.messages("D0001")[0]["assistant_status"] == "is thinking"


def test_rate_limits_strict_then_off(client: WebClient, control: Control) -> None:
    strict(control)
    ts = client.chat_postMessage(channel="C0001", text="0")["ts"]
    statuses = []
    for n in range(60):
        try:
            client.chat_update(channel="C0001", ts=ts, text=str(n))
            statuses.append(200)
        except SlackApiError as error:
            assert error.response.status_code == 429
            assert error.response.data == {"ok": False, "error": "ratelimited"}
            assert int(error.response.headers["Retry-After"]) >= 1
            statuses.append(429)
    assert statuses.count(429) == 10  # Tier 3: a burst of 50, then refused
    limited = control.calls(method="chat.update", status=429)
    assert len(limited) == 10 and all(c["error"] == "ratelimited" for c in limited)

    control.post("/_emulator/rate-limits", {"mode": "off"})
    for n in range(60):
        client.chat_update(channel="C0001", ts=ts, text=f"off {n}")
    assert len(control.calls(method="chat.update", status=429)) == 10


def test_rate_limit_retry_handler_recovers(server: Child, control: Control) -> None:
    strict(control)
    control.post(
        "/_emulator/rate-limits",
        {"overrides": {"chat.update": {"per_minute": 120, "burst": 1}}},
    )
    client = WebClient(token=BOT_TOKEN, base_url=server.url + "/api/")
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    ts = client.chat_postMessage(channel="C0001", text="a")["ts"]
    client.chat_update(channel="C0001", ts=ts, text="b")
    assert client.chat_update(channel="C0001", ts=ts, text="c")["ok"]
    outcomes = [c["status"] for c in control.calls(method="chat.update")]
    assert outcomes[0] == 200 and 429 in outcomes and outcomes[-1] == 200


def test_post_message_is_limited_per_channel(client: WebClient, control: Control) -> None:
    strict(control)
    refused = 0
    for n in range(6):
        try:
            client.chat_postMessage(channel="C0001", text=str(n))
        except SlackApiError:
            refused += 1
    assert refused == 3  # about one a second per channel, bursts of 3
    assert client.chat_postMessage(channel="G0001", text="other channel")["ok"]


def test_faults_and_call_log_redaction(client: WebClient, control: Control) -> None:
    control.post("/_emulator/faults", {"method": "chat.postMessage", "status": 500, "count": 1})
    failed = error_of(lambda: client.chat_postMessage(channel="C0001", text="x"))
    assert failed["error"] == "internal_error"
    assert client.chat_postMessage(channel="C0001", text="x")["ok"]
    client.api_call("auth.test", params={"token": BOT_TOKEN})
    for call in control.calls():
        assert BOT_TOKEN not in str(call["args"])
        assert {"time", "method", "args", "ok", "error", "status"} <= call.keys()
    assert [c["status"] for c in control.calls(method="chat.postMessage")] == [500, 200]


def test_a_performed_fault_acts_then_fails(client: WebClient, control: Control) -> None:
    """Slack may post a message and still answer 500: the app cannot tell that it did."""
    fault = {"method": "chat.postMessage", "status": 500, "performed": True}
    control.post("/_emulator/faults", fault)
    assert error_of(lambda: client.chat_postMessage(channel="C0001", text="once"))["error"] == (
        "internal_error"
    )
    assert [m["text"] for m in control.messages()] == ["once"]
    assert [c["status"] for c in control.calls(method="chat.postMessage")] == [500]


def test_extra_workspaces(server: Child, control: Control) -> None:
    created = control.post("/_emulator/workspaces", {})["workspace"]
    assert created["id"] == "T0002" and created["bot_token"] == "xoxb-test-T0002"
    other = WebClient(token=created["bot_token"], base_url=server.url + "/api/")
    assert other.auth_test()["team_id"] == "T0002"
    channel = next(c["id"] for c in created["channels"] if c["bot_is_member"])
    assert other.chat_postMessage(channel=channel, text="hi")["ok"]
    default_channel = error_of(lambda: other.chat_postMessage(channel="C0001", text="x"))
    assert default_channel["error"] == "channel_not_found"
    listed = control.get("/_emulator/workspaces")["workspaces"]
    assert [w["id"] for w in listed] == ["T0001", "T0002"]


def test_views_need_a_fresh_trigger(client: WebClient) -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Hi"},
        "blocks": [],
    }
    assert error_of(lambda: client.views_open(trigger_id="1.2.3", view=view))["error"] == (
        "invalid_trigger_id"
    )
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    assert client.views_publish(user_id="U0001", view=home)["view"]["type"] == "home"


def test_time_scale_shortens_retry_after(client: WebClient, control: Control) -> None:
    strict(control)
    control.post(
        "/_emulator/rate-limits",
        {"time_scale": 600, "overrides": {"chat.delete": {"per_minute": 1, "burst": 1}}},
    )
    first = client.chat_postMessage(channel="C0001", text="a")["ts"]
    second = client.chat_postMessage(channel="G0001", text="b")["ts"]
    client.chat_delete(channel="C0001", ts=first)
    with pytest.raises(SlackApiError) as limited:
        client.chat_delete(channel="G0001", ts=second)
    assert limited.value.response.headers["Retry-After"] == "1"  # 60 emulated s = 0.1 real s
    settings = control.get("/_emulator/rate-limits")
    assert settings["time_scale"] == 600 and settings["limits"]["chat.delete"][0]["burst"] == 1


def test_control_builds_users_channels_and_members(client: WebClient, control: Control) -> None:
    user = control.post("/_emulator/users", {"name": "carol", "channels": ["C0001"]})["user"]
    assert user["id"] == "U0003"
    channel = control.post("/_emulator/channels", {"name": "ops", "members": [user["id"]]})
    assert channel["channel"]["id"] == "C0003"
    assert client.chat_postMessage(channel="#ops", text="by name")["channel"] == "C0003"
    control.post("/_emulator/members", {"channel": "C0003", "user": "bot", "leave": True})
    assert error_of(lambda: client.chat_postMessage(channel="C0003", text="x"))["error"] == (
        "not_in_channel"
    )
    missing = control.post("/_emulator/messages", {"channel": "C0002", "user": "U9999"}, ok=False)
    assert missing["error"] == "user_not_found"


def test_views_open_with_a_slash_command_trigger(client: WebClient, control: Control) -> None:
    control.post("/_emulator/config", {"ack_timeout": 0.1})
    # No app is connected, so the command fails, but Slack had already minted its trigger.
    slash = control.post("/_emulator/slash", {"channel": "C0001", "user": "U0001", "text": ""})
    assert slash["error"] == "dispatch_failed"
    view = {
        "type": "modal",
        "callback_id": "schedule",
        "title": {"type": "plain_text", "text": "Schedule"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "When?"}}],
    }
    opened = client.views_open(trigger_id=slash["trigger_id"], view=view)["view"]
    assert opened["callback_id"] == "schedule" and opened["team_id"] == "T0001"
    again = error_of(lambda: client.views_open(trigger_id=slash["trigger_id"], view=view))
    assert again["error"] == "exchanged_trigger_id"
    view["title"] = {"type": "plain_text", "text": "Changed"}
    updated = client.views_update(view_id=opened["id"], view=view)["view"]
    assert updated["title"]["text"] == "Changed"
    assert control.get("/_emulator/views")["views"][0]["id"] == opened["id"]


def test_modals_belong_to_the_user_who_opened_them(client: WebClient, control: Control) -> None:
    control.post("/_emulator/config", {"ack_timeout": 0.1})

    def trigger(user: str) -> str:
        slash = control.post("/_emulator/slash", {"channel": "C0001", "user": user, "text": ""})
        return str(slash["trigger_id"])

    def modal(title: str) -> dict[str, Any]:
        text = {"type": "plain_text", "text": title}
        return {"type": "modal", "title": text, "blocks": [{"type": "section", "text": text}]}

    alices = client.views_open(trigger_id=trigger("U0001"), view=modal("Alice's"))["view"]
    bobs = client.views_open(trigger_id=trigger("U0002"), view=modal("Bob's"))["view"]
    pushed = client.views_push(trigger_id=trigger("U0001"), view=modal("Alice's next"))["view"]
    assert pushed["previous_view_id"] == alices["id"]  # on Alice's own stack, not Bob's
    assert pushed["root_view_id"] == alices["id"]
    openers = control.get("/_emulator/views")["openers"]
    assert openers == {alices["id"]: "U0001", bobs["id"]: "U0002", pushed["id"]: "U0001"}
    refused = control.post(f"/_emulator/views/{bobs['id']}/submit", {"user": "U0001"}, ok=False)
    assert refused["error"] == "view_not_yours"


def test_a_click_is_shaped_as_slack_shapes_each_element(
    client: WebClient, control: Control
) -> None:
    control.post("/_emulator/config", {"ack_timeout": 0.1})
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in ("a", "b", "c")]
    elements = [
        {"type": "checkboxes", "action_id": "checks", "options": options},
        {"type": "multi_static_select", "action_id": "many", "options": options},
        {"type": "multi_users_select", "action_id": "people"},
        {"type": "timepicker", "action_id": "time"},
        {"type": "datetimepicker", "action_id": "when"},
    ]
    blocks = [{"type": "actions", "block_id": "b", "elements": elements}]
    ts = client.chat_postMessage(channel="C0001", text="pick", blocks=blocks)["ts"]

    def click(action_id: str, value: Any) -> dict[str, Any]:
        body = {"channel": "C0001", "user": "U0001", "message_ts": ts, "action_id": action_id}
        action: dict[str, Any] = control.post(
            "/_emulator/actions", {**body, "value": value}, ok=False
        )["action"]
        return action

    checked = click("checks", ["a", "c"])["selected_options"]
    assert [o["value"] for o in checked] == ["a", "c"]  # every box ticked now, not one
    assert [o["value"] for o in click("many", ["b"])["selected_options"]] == ["b"]
    assert click("people", ["U0001", "U0002"])["selected_users"] == ["U0001", "U0002"]
    assert click("time", "09:30")["selected_time"] == "09:30"
    assert click("when", "1796083200")["selected_date_time"] == 1796083200
