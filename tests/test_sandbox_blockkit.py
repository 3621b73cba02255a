"""Every Block Kit block and element the emulator accepts, drawn in the sandbox page as Slack
draws it (no placeholders), and sending what Slack sends when used: a message posted with the
app's token, a modal opened with a trigger from a person's command, both in a real browser."""

from __future__ import annotations

from typing import Any

import httpx

from emulators.credentials import BOT_TOKEN
from tests import test_sandbox_page as shared
from tests.browser import Sandbox, screenshot
from tests.test_sandbox_page import WAIT_MS, expect

# The page's fixtures, shared (a second module gets its own sandbox and browser).
sandbox, browser, page = shared.sandbox, shared.browser, shared.page

HOSTILE_ALT = '<img src=x onerror="window.__pwned=1">'
HOSTILE = "<script>window.__pwned=2</script>"


def text(value: str, kind: str = "plain_text") -> dict[str, str]:
    return {"type": kind, "text": value}


def option(value: str, description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"text": text(value.title()), "value": value}
    if description:
        out["description"] = text(description)
    return out


def rich(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text", "elements": list(parts)}


def section(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(items)}


def words(value: str, **style: bool) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"style": style} if style else {})}


yes_no = [option("yes"), option("no")]
a_b = [option("a"), option("b")]
MESSAGE_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": text("Every block")},
    {
        "type": "section",
        "block_id": "fruit",
        "text": text("*Pick* a fruit", "mrkdwn"),
        "accessory": {
            "type": "static_select",
            "action_id": "fruit",
            "placeholder": text("Choose a fruit"),
            "option_groups": [
                {"label": text("Fruit"), "options": [option("apple"), option("pear")]},
                {"label": text("Berries"), "options": [option("cherry")]},
            ],
        },
    },
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "controls",
        "elements": [
            {
                "type": "multi_static_select",
                "action_id": "many",
                "placeholder": text("Several"),
                "options": [option("red"), option("green"), option("blue")],
            },
            {"type": "users_select", "action_id": "who", "placeholder": text("Someone")},
            {"type": "conversations_select", "action_id": "where"},
            {"type": "multi_channels_select", "action_id": "wheres"},
            {
                "type": "checkboxes",
                "action_id": "checks",
                "options": [option("email", f"Send an email too {HOSTILE}"), option("sms")],
                "initial_options": [option("sms")],
            },
            {
                "type": "radio_buttons",
                "action_id": "radio",
                "options": [option("yes"), option("no")],
            },
            {"type": "datepicker", "action_id": "day", "initial_date": "2026-12-01"},
            {"type": "timepicker", "action_id": "time", "initial_time": "09:30"},
            {"type": "datetimepicker", "action_id": "when", "initial_date_time": 1796083200},
            {"type": "workflow_button", "action_id": "flow", "text": text("Run workflow")},
            {"type": "button", "action_id": "go", "text": text("Go"), "style": "primary"},
        ],
    },
    {
        "type": "context",
        "elements": [
            {"type": "image", "image_url": "https://example.com/a.png", "alt_text": HOSTILE_ALT},
            text("context _text_", "mrkdwn"),
        ],
    },
    {
        "type": "image",
        "image_url": "https://example.com/chart.png",
        "alt_text": "a chart",
        "title": text("The chart"),
    },
    rich(
        section(words("rich "), words("bold", bold=True), {"type": "color", "value": "#ff0000"}),
        {
            "type": "rich_text_list",
            "style": "bullet",
            "elements": [section(words("first")), section(words("second"))],
        },
        {
            "type": "rich_text_list",
            "style": "ordered",
            "indent": 1,
            "offset": 2,
            "elements": [section(words("third, nested"))],
        },
        {"type": "rich_text_quote", "elements": [words("a quote")]},
        {"type": "rich_text_preformatted", "border": 1, "elements": [words("x = 1")]},
    ),
    {"type": "markdown", "text": "**markdown** block"},
    {
        "type": "table",
        "rows": [
            [{"type": "raw_text", "text": "Name"}, {"type": "raw_text", "text": "Count"}],
            [
                {"type": "raw_text", "text": f"apples {HOSTILE}"},
                rich(section(words("3", bold=True))),
            ],
        ],
        "column_settings": [None, {"align": "right"}],
    },
    {
        "type": "video",
        "alt_text": "a demo",
        "title": text(f"The demo {HOSTILE_ALT}"),
        "video_url": "https://example.com/video",
        "thumbnail_url": "https://example.com/thumb.png",
    },
    {"type": "file", "external_id": "ABCD1", "source": "remote"},
]

MODAL_BLOCKS: list[dict[str, Any]] = [
    {"type": "input", "block_id": kind, "label": text(kind), "element": element, "optional": True}
    for kind, element in [
        ("text", {"type": "plain_text_input", "action_id": "v", "multiline": True}),
        ("email", {"type": "email_text_input", "action_id": "v"}),
        ("number", {"type": "number_input", "action_id": "v", "is_decimal_allowed": False}),
        ("rich", {"type": "rich_text_input", "action_id": "v"}),
        ("file", {"type": "file_input", "action_id": "v", "filetypes": ["pdf"]}),
        ("one", {"type": "static_select", "action_id": "v", "options": a_b}),
        (
            "many",
            {
                "type": "multi_static_select",
                "action_id": "v",
                "options": [option("a"), option("b")],
            },
        ),
        (
            "radio",
            {"type": "radio_buttons", "action_id": "v", "options": a_b},
        ),
        ("checks", {"type": "checkboxes", "action_id": "v", "options": a_b}),
        ("people", {"type": "multi_users_select", "action_id": "v"}),
        ("day", {"type": "datepicker", "action_id": "v"}),
        ("time", {"type": "timepicker", "action_id": "v"}),
    ]
]


def api(sandbox: Sandbox, method: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(
        f"{sandbox.slack_url}/api/{method}",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json=body,
        timeout=10,
    ).json()
    assert answer["ok"], answer
    return dict(answer)


def test_every_block_and_element_is_drawn_and_acts_as_on_slack(page: Any, sandbox: Sandbox) -> None:
    api(
        sandbox,
        "chat.postMessage",
        {"channel": "C0001", "text": "blocks", "blocks": MESSAGE_BLOCKS},
    )
    message = page.locator("#messages .msg.from-bot", has_text="Every block")
    expect(message).to_be_visible(timeout=WAIT_MS)
    expect(message.locator(".unsupported")).to_have_count(0)
    expect(message.locator("select.bk-select optgroup[label='Berries'] option")).to_have_text(
        "Cherry"
    )
    expect(message.locator(".bk-multi")).to_have_count(2)
    expect(message.locator(".bk-checkboxes input[type=checkbox]")).to_have_count(2)
    expect(message.locator(".bk-checkboxes input[value='sms']")).to_be_checked()
    expect(message.locator(".bk-choice-desc")).to_have_text(f"Send an email too {HOSTILE}")
    expect(message.locator(".bk-radios input[type=radio]")).to_have_count(2)
    expect(message.locator("input[type=date]")).to_have_value("2026-12-01")
    expect(message.locator("input[type=time]")).to_have_value("09:30")
    expect(message.locator("input[type=datetime-local]")).not_to_have_value("")
    expect(message.locator("button.bk-workflow")).to_have_text("Run workflow")
    expect(message.locator(".context-image")).to_have_count(1)
    expect(message.locator("figure.bk-image figcaption")).to_have_text("The chart")
    expect(message.locator(".bk-rich-text ul li")).to_have_count(2)
    expect(message.locator(".bk-rich-text ol[start='3'] li")).to_have_text("third, nested")
    expect(message.locator(".bk-rich-text blockquote")).to_have_text("a quote")
    expect(message.locator(".bk-rich-text pre.rt-border")).to_have_text("x = 1")
    expect(message.locator(".rt-color")).to_contain_text("#ff0000")
    expect(message.locator(".bk-markdown b")).to_have_text("markdown")
    expect(message.locator(".bk-table th")).to_have_count(2)
    expect(message.locator(".bk-table td b")).to_have_text("3")
    expect(message.locator(".bk-video")).to_contain_text("The demo")
    expect(message.locator(".bk-file")).to_contain_text("ABCD1")
    expect(message.locator(".bk-table td").first).to_have_text(f"apples {HOSTILE}")  # as text
    for selector in ("script", "img[src='x']", "[onerror]", "a[href^='javascript']"):
        expect(page.locator(f"#messages {selector}")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None
    message.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.mouse.move(1, 1)
    screenshot(page, "sandbox-blockkit")

    def chosen(act: Any) -> Any:
        """What the page asked the emulator to send the app for one use of an element."""
        with page.expect_request("**/_emulator/actions") as sent:
            act()
        return sent.value.post_data_json

    picked = chosen(
        lambda: message.locator("[data-block-id] select, .bk-accessory select").first.select_option(
            "cherry"
        )
    )
    assert (picked["action_id"], picked["value"]) == ("fruit", "cherry")
    ticked = chosen(lambda: message.locator(".bk-checkboxes input[value='email']").check())
    assert (ticked["action_id"], sorted(ticked["value"])) == ("checks", ["email", "sms"])
    many = message.locator(".bk-multi").first
    assert chosen(lambda: many.locator("select").select_option("green"))["value"] == ["green"]
    assert chosen(lambda: many.locator("select").select_option("blue"))["value"] == [
        "green",
        "blue",
    ]
    removed = chosen(lambda: many.locator(".bk-chip[data-value='green'] .bk-chip-x").click())
    assert removed["value"] == ["blue"]
    assert chosen(lambda: message.locator(".bk-radios input[value='no']").check())["value"] == "no"
    assert chosen(lambda: message.locator("input[type=time]").fill("10:15"))["value"] == "10:15"


def test_a_modal_draws_every_input_and_submits_slacks_state_values(
    page: Any, sandbox: Sandbox
) -> None:
    slash = httpx.post(
        f"{sandbox.slack_url}/_emulator/slash",
        json={"channel": "C0001", "user": "U0001", "command": "/handinger", "text": "help"},
        timeout=10,
    ).json()
    view = {
        "type": "modal",
        "title": text("Inputs"),
        "submit": text("Send"),
        "blocks": MODAL_BLOCKS,
    }
    api(sandbox, "views.open", {"trigger_id": slash["trigger_id"], "view": view})
    modal = page.locator(".modal[data-view-id]")
    expect(modal).to_be_visible(timeout=WAIT_MS)
    expect(modal.locator(".unsupported")).to_have_count(0)
    modal.locator("#in-text-v").fill("two\nlines")
    modal.locator("#in-email-v").fill("a@example.com")
    modal.locator("#in-number-v").fill("42")
    modal.locator("#in-rich-v").fill("rich words")
    modal.locator("#in-one-v").select_option("b")
    modal.locator("#in-many-v").select_option("a")
    modal.locator("#in-radio-v input[value='b']").check()
    modal.locator("#in-checks-v input[value='a']").check()
    modal.locator("#in-people-v").select_option("U0002")
    modal.locator("#in-day-v").fill("2026-12-24")
    modal.locator("#in-time-v").fill("18:45")
    screenshot(page, "sandbox-modal-inputs", modal)
    with page.expect_request("**/_emulator/views/*/submit") as sent:
        modal.locator(".modal-submit").click()
    values = {block: fields["v"] for block, fields in sent.value.post_data_json["values"].items()}
    assert values["text"] == {"type": "plain_text_input", "value": "two\nlines"}
    assert values["email"]["value"] == "a@example.com"
    assert values["number"] == {"type": "number_input", "value": "42"}
    assert values["rich"]["rich_text_value"]["elements"][0]["elements"][0]["text"] == "rich words"
    assert values["file"] == {"type": "file_input", "files": []}
    assert values["one"]["selected_option"]["value"] == "b"
    assert [o["value"] for o in values["many"]["selected_options"]] == ["a"]
    assert values["radio"]["selected_option"]["value"] == "b"
    assert [o["value"] for o in values["checks"]["selected_options"]] == ["a"]
    assert values["people"] == {"type": "multi_users_select", "selected_users": ["U0002"]}
    assert values["day"] == {"type": "datepicker", "selected_date": "2026-12-24"}
    assert values["time"] == {"type": "timepicker", "selected_time": "18:45"}
    page.locator(".modal-cancel").click()
    expect(modal).to_have_count(0, timeout=WAIT_MS)
