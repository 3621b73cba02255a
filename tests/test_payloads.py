"""The shape check lets every real Slack request through, and keys replays of each one.

The samples follow the payloads in Slack's documentation (and the reference sheet), with the
fields Slack sends that the app never reads, so the check is shown not to be stricter than
Slack: a stricter one would turn away the app's own users.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.slack.payloads import Unusable, check
from tests.slack_requests import block_actions, command_fields, view_submission

AUTHORIZATIONS = [
    {
        "enterprise_id": None,
        "team_id": "T1",
        "user_id": "UBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }
]


def envelope(event: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "token": "XXYYZZ",
        "team_id": "T1",
        "enterprise_id": None,
        "api_app_id": "A1",
        "type": "event_callback",
        "event": event,
        "event_id": "Ev01ERKCFKK9",
        "event_time": 1605853844,
        "authorizations": AUTHORIZATIONS,
        "is_ext_shared_channel": False,
        "event_context": "1-app_mention-T1-C1",
        **more,
    }


MESSAGE = {
    "client_msg_id": "9b5b3a8a",
    "type": "message",
    "text": "follow up",
    "user": "U2",
    "ts": "1355517523.000005",
    "team": "T1",
    "blocks": [{"type": "rich_text", "block_id": "x", "elements": []}],
    "thread_ts": "1355517500.000001",
    "parent_user_id": "UBOT",
    "channel": "C1",
    "event_ts": "1355517523.000005",
    "channel_type": "channel",
}

REAL_EVENTS = {
    "a reply in a thread": MESSAGE,
    "a DM": {**MESSAGE, "channel": "D1", "channel_type": "im", "thread_ts": None},
    "a mention": {
        "type": "app_mention",
        "user": "U2",
        "text": "<@UBOT> hi",
        "ts": "1.2",
        "channel": "C1",
        "event_ts": "1.2",
    },
    "a file without text": {**MESSAGE, "subtype": "file_share", "text": "", "files": [{}]},
    "the bot's own post": {"type": "message", "bot_id": "B1", "text": "x", "ts": "1.3"},
    "an edit": {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": "C1",
        "ts": "1.4",
        "message": {"type": "message", "user": "U2", "text": "new", "ts": "1.1", "edited": {}},
        "previous_message": {"type": "message", "user": "U2", "text": "old", "ts": "1.1"},
        "event_ts": "1.4",
        "channel_type": "channel",
    },
    "a deletion": {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": "C1",
        "ts": "1.5",
        "deleted_ts": "1.1",
        "previous_message": {"type": "message", "user": "U2", "text": "old", "ts": "1.1"},
    },
    "tokens_revoked": {"type": "tokens_revoked", "tokens": {"oauth": ["U2"], "bot": ["UBOT"]}},
    "app_uninstalled": {"type": "app_uninstalled"},
}


@pytest.mark.parametrize("event", REAL_EVENTS.values(), ids=list(REAL_EVENTS))
def test_real_events_pass_and_are_not_keyed_here(event: dict[str, Any]) -> None:
    assert check("event", envelope(event)) is None


def test_events_from_an_uninstall_without_authorizations_pass() -> None:
    body = envelope({"type": "app_uninstalled"})
    del body["authorizations"]
    assert check("event", body) is None


def test_a_real_slash_command_is_keyed_by_its_trigger() -> None:
    fields = {**command_fields(), "enterprise_id": "", "enterprise_name": "", "trigger_id": "t1"}
    assert check("command", fields) == "command:t1"


def test_real_clicks_and_submissions_are_keyed_by_trigger_and_action() -> None:
    button = block_actions(
        enterprise=None,
        is_enterprise_install=False,
        message={"bot_id": "B1", "type": "message", "user": "UBOT", "ts": "1.0", "team": "T1"},
        state={"values": {}},
        response_url="https://hooks.slack.com/actions/T1/1/x",
        actions=[
            {
                "action_id": "cancel_schedule",
                "block_id": "b",
                "text": {"type": "plain_text", "text": "Cancel", "emoji": True},
                "value": "sch_1",
                "style": "danger",
                "type": "button",
                "action_ts": "1548426417.840180",
            }
        ],
    )
    assert check("interaction", button) == "action:1.2.trigger:1548426417.840180"
    submission = view_submission(hash="1.abc", blocks=[], app_installed_team_id="T0001")
    submission["response_urls"] = []
    submission["view"]["state"]["values"]["budget"] = {
        "value": {"type": "static_select", "selected_option": {"text": {}, "value": "low"}}
    }
    assert check("interaction", submission) == "view:V0001:3.4.trigger"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("event", envelope({**MESSAGE, "text": None})),
        ("event", envelope({**MESSAGE, "user": {"id": "U2"}})),
        ("event", envelope({**MESSAGE, "channel": None})),
        ("event", envelope(MESSAGE, authorizations=[{"team_id": 7}])),
        ("command", {**command_fields(), "text": None}),
        ("command", {**command_fields(), "type": "event_callback", "event": "{type}"}),
        ("interaction", block_actions(actions=[{"action_id": "x"}])),
        ("interaction", view_submission(private_metadata=json.dumps({"channel": 5}))),
    ],
)
def test_shapes_the_listeners_cannot_act_on_are_unusable(kind: Any, body: dict[str, Any]) -> None:
    with pytest.raises(Unusable):
        check(kind, body)
