"""The Slack emulator refuses what Slack refuses: Block Kit element and view limits, blocks too
long in total, missing scopes, archived channels, unknown emoji, broken uploads, and events the
app did not subscribe to. Each check is driven the way a client meets it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from slack_sdk import WebClient

from emulators.harness import ROOT, Child
from emulators.slack.errors import ApiError
from emulators.slack.validate import check_blocks
from emulators.slack.view_schema import view_problems
from tests.slack_emulator import Control, emulator, error_of, fresh_control, web_client


def section(text: str, **more: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **more}


def button(**fields: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, **fields}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def refused(blocks: list[dict[str, Any]]) -> ApiError:
    with pytest.raises(ApiError) as info:
        check_blocks(blocks)
    return info.value


def pointers(error: ApiError) -> list[str]:
    return [p.rsplit("[json-pointer:", 1)[1].rstrip("]") for p in error.extra["errors"]]


# ---- messages: the blocks themselves ---------------------------------------------------------


def test_blocks_too_long_in_total_even_when_each_block_fits() -> None:
    five = [section("x" * 2900) for _ in range(5)]  # 14,500 characters, each under 3,000
    assert refused(five).error == "msg_blocks_too_long"
    check_blocks([section("x" * 2900) for _ in range(4)])  # 11,600: fine


def test_button_limits() -> None:
    check_blocks([{"type": "actions", "elements": [button(action_id="a", value="v")]}])
    cases = {
        "/blocks/0/elements/0/text/text": button(text={"type": "plain_text", "text": "b" * 76}),
        "/blocks/0/elements/0/action_id": button(action_id="a" * 256),
        "/blocks/0/elements/0/value": button(value="v" * 2001),
        "/blocks/0/elements/0/url": button(url="https://x.test/" + "u" * 3000),
    }
    for pointer, element in cases.items():
        error = refused([{"type": "actions", "elements": [element]}])
        assert error.error == "invalid_blocks" and pointers(error) == [pointer]
    accessory = refused([section("hi", accessory=button(text={"type": "mrkdwn", "text": "*b*"}))])
    assert pointers(accessory) == ["/blocks/0/accessory/text"]  # a button's text is plain_text


def test_overflow_menus_have_two_to_five_options() -> None:
    def overflow(count: int) -> list[dict[str, Any]]:
        options = [option(f"o{i}", f"v{i}") for i in range(count)]
        menu = {"type": "overflow", "action_id": "menu", "options": options}
        return [{"type": "actions", "elements": [menu]}]

    check_blocks(overflow(2))
    check_blocks(overflow(5))
    for count in (1, 6):
        assert pointers(refused(overflow(count))) == ["/blocks/0/elements/0/options"]
    long_value = [
        {
            "type": "actions",
            "elements": [
                {"type": "overflow", "options": [option("a", "v" * 151), option("b", "w")]}
            ],
        }
    ]
    assert pointers(refused(long_value)) == ["/blocks/0/elements/0/options/0/value"]


def test_context_blocks_hold_only_images_and_text_at_most_ten() -> None:
    text = {"type": "mrkdwn", "text": "note"}
    image = {"type": "image", "image_url": "https://x.test/a.png", "alt_text": "a"}
    check_blocks([{"type": "context", "elements": [text, image]}])
    with_button = refused([{"type": "context", "elements": [text, button(action_id="b")]}])
    assert pointers(with_button) == ["/blocks/0/elements/1/type"]
    eleven = refused([{"type": "context", "elements": [text] * 11}])
    assert pointers(eleven) == ["/blocks/0/elements"]
    long_text = refused([{"type": "context", "elements": [{"type": "mrkdwn", "text": "t" * 3001}]}])
    assert pointers(long_text) == ["/blocks/0/elements/0/text"]
    blind = refused([{"type": "context", "elements": [{"type": "image", "image_url": "u"}]}])
    assert pointers(blind) == ["/blocks/0/elements/0/alt_text"]


def test_text_objects_duplicate_block_ids_and_images_without_alt_text() -> None:
    empty = refused([section("")])
    assert pointers(empty) == ["/blocks/0/text/text"]
    wrong_type = refused([{"type": "section", "text": {"type": "markdown", "text": "x"}}])
    assert pointers(wrong_type) == ["/blocks/0/text"]
    twice = refused([section("a", block_id="b1"), section("b", block_id="b1")])
    assert pointers(twice) == ["/blocks/1/block_id"]
    image = refused([{"type": "image", "image_url": "https://x.test/a.png"}])
    assert pointers(image) == ["/blocks/0/alt_text"]
    same_action = {"type": "actions", "elements": [button(action_id="a"), button(action_id="a")]}
    assert pointers(refused([same_action])) == ["/blocks/0/elements/1/action_id"]


# ---- views -------------------------------------------------------------------------------------


def modal(**changes: Any) -> dict[str, Any]:
    options = [option("low", "low"), option("high", "high")]
    view: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Schedule"},
        "submit": {"type": "plain_text", "text": "Schedule"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "when",
                "label": {"type": "plain_text", "text": "When"},
                "hint": {"type": "plain_text", "text": "every 30m"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "max_length": 10,
                    "initial_value": "daily",
                },
            },
            {
                "type": "input",
                "block_id": "budget",
                "label": {"type": "plain_text", "text": "Budget"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": options,
                    "initial_option": options[0],
                },
            },
        ],
    }
    view.update(changes)
    return view


def view_pointers(view: dict[str, Any]) -> list[str]:
    return [p.rsplit("[json-pointer:", 1)[1].rstrip("]") for p in view_problems(view, "modal")]


def test_modal_limits() -> None:
    assert view_problems(modal(), "modal") == []
    long_button = {"type": "plain_text", "text": "s" * 25}
    assert view_pointers(modal(submit=long_button)) == ["/view/submit/text"]
    assert view_pointers(modal(close=long_button)) == ["/view/close/text"]
    assert view_pointers(modal(submit=None)) == ["/view"]  # inputs need a submit button

    def changed(block: int, **fields: Any) -> dict[str, Any]:
        view = modal()
        view["blocks"][block].update(fields)
        return view

    label = {"type": "plain_text", "text": "l" * 2001}
    assert view_pointers(changed(0, label=label)) == ["/view/blocks/0/label/text"]
    assert view_pointers(changed(0, hint=label)) == ["/view/blocks/0/hint/text"]
    wrong = changed(1)
    wrong["blocks"][1]["element"]["initial_option"] = option("unlimited", "unlimited")
    assert view_pointers(wrong) == ["/view/blocks/1/element/initial_option"]
    too_long = changed(0)
    too_long["blocks"][0]["element"]["initial_value"] = "every weekday"  # 13 > max_length 10
    assert view_pointers(too_long) == ["/view/blocks/0/element/initial_value"]


# ---- over the wire, with the app's manifest -------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Child]:
    with emulator() as proc:  # the repository's manifest.yml, as the bot's tests run it
        yield proc


@pytest.fixture
def control(server: Child) -> Control:
    return fresh_control(server, rate_limits=False)


@pytest.fixture
def client(server: Child, control: Control) -> WebClient:
    return web_client(server)


def test_views_open_answers_invalid_arguments_with_pointers(
    client: WebClient, control: Control
) -> None:
    control.post("/_emulator/config", {"ack_timeout": 0.1})
    trigger = control.post("/_emulator/slash", {"channel": "C0001", "user": "U0001"})["trigger_id"]
    view = modal(close={"type": "plain_text", "text": "c" * 25})
    refusal = error_of(lambda: client.views_open(trigger_id=trigger, view=view))
    assert refusal["error"] == "invalid_arguments"
    assert refusal["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/close/text]"
    ]


def test_blocks_too_long_over_the_wire(client: WebClient) -> None:
    blocks = [section("y" * 2900) for _ in range(5)]
    assert error_of(lambda: client.chat_postMessage(channel="C0001", blocks=blocks, text="t")) == {
        "ok": False,
        "error": "msg_blocks_too_long",
    }


def test_scopes_come_from_the_manifest(client: WebClient, control: Control) -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    granted = sorted(manifest["oauth_config"]["scopes"]["bot"])
    ts = client.chat_postMessage(channel="C0001", text="hello")["ts"]
    assert client.conversations_replies(channel="C0001", ts=ts)["ok"]
    # The manifest asks for no `channels:read`, so conversations.info is refused, as on Slack.
    refusal = error_of(lambda: client.conversations_info(channel="C0001"))
    assert refusal == {
        "ok": False,
        "error": "missing_scope",
        "needed": "channels:read",
        "provided": ",".join(granted),
    }
    control.post("/_emulator/scopes", {"scopes": ["chat:write"]})  # an old, smaller install
    refusal = error_of(lambda: client.reactions_add(channel="C0001", timestamp=ts, name="eyes"))
    assert (refusal["needed"], refusal["provided"]) == ("reactions:write", "chat:write")
    private = error_of(lambda: client.conversations_history(channel="G0001"))
    assert private["needed"] == "groups:history"  # the scope of the conversation's type
    assert client.chat_postMessage(channel="C0001", text="still allowed")["ok"]


def test_archived_channels_refuse_posts_joins_ephemerals_edits_and_reactions(
    client: WebClient, control: Control
) -> None:
    ts = client.chat_postMessage(channel="C0001", text="before")["ts"]
    archived = control.post("/_emulator/channels/C0001/archive", {})
    assert archived == {"ok": True, "channel": "C0001", "archived": True}
    control.post("/_emulator/channels/C0002/archive", {})
    calls = {
        "is_archived": [
            lambda: client.chat_postMessage(channel="C0001", text="after"),
            lambda: client.chat_postEphemeral(channel="C0001", user="U0001", text="psst"),
            lambda: client.conversations_join(channel="C0002"),
            lambda: client.reactions_add(channel="C0001", timestamp=ts, name="eyes"),
        ],
        "is_inactive": [lambda: client.chat_update(channel="C0001", ts=ts, text="edited")],
    }
    for code, refused_calls in calls.items():
        for call in refused_calls:
            assert error_of(call)["error"] == code
    user_post = control.post(
        "/_emulator/messages", {"channel": "C0001", "user": "U0001", "text": "hi"}, ok=False
    )
    assert user_post["error"] == "is_archived"
    control.post("/_emulator/channels/C0001/unarchive", {})
    assert client.chat_postMessage(channel="C0001", text="back")["ok"]


def test_reactions_need_a_known_emoji(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0001", text="react")["ts"]
    for name in ("white_check_mark", "hourglass_flowing_sand", "+1::skin-tone-3"):
        client.reactions_add(channel="C0001", timestamp=ts, name=name)
    for name in ("not_an_emoji", "eyes::skin-tone-9", ":eyes:"):
        refusal = error_of(
            lambda n=name: client.reactions_add(channel="C0001", timestamp=ts, name=n)
        )
        assert refusal["error"] == "invalid_name"


def test_uploads_must_match_their_length_and_complete_once(
    server: Child, client: WebClient
) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=10)
    short = httpx.post(ticket["upload_url"], content=b"12345")
    assert short.status_code == 400  # "a non-200 response indicates a failure"
    files = [{"id": ticket["file_id"]}]
    assert error_of(lambda: client.files_completeUploadExternal(files=files))["error"] == (
        "file_not_found"
    )
    assert httpx.post(ticket["upload_url"], content=b"0123456789").status_code == 200
    assert client.files_completeUploadExternal(files=files, channel_id="C0001")["ok"]
    twice = error_of(lambda: client.files_completeUploadExternal(files=files, channel_id="C0001"))
    assert twice["error"] == "file_not_found"
    assert client.files_upload_v2(channel="C0001", content="fine", filename="b.txt")["ok"]


# ---- events the manifest subscribes to ---------------------------------------------------------


def test_only_subscribed_events_are_delivered(tmp_path: Path) -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    manifest["settings"]["event_subscriptions"]["bot_events"] = [
        e for e in events if e not in ("message.channels", "app_uninstalled")
    ]
    path = tmp_path / "manifest.yml"
    path.write_text(yaml.safe_dump(manifest))
    with emulator("--manifest", str(path)) as proc:
        control = Control(proc.url)

        def event_ids(channel: str, text: str) -> list[str]:
            body = {"channel": channel, "user": "U0001", "text": text}
            ids: list[str] = control.post("/_emulator/messages", body)["event_ids"]
            return ids

        assert event_ids("C0001", "no message.channels") == []
        assert len(event_ids("C0001", "but <@U0BOT> is an app_mention")) == 1
        assert len(event_ids("G0001", "message.groups")) == 1
        assert len(event_ids("D0001", "message.im")) == 1
        uninstalled = control.post("/_emulator/uninstall", {})
        assert len(uninstalled["event_ids"]) == 1  # tokens_revoked only
