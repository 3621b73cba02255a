"""`slack`: a 5xx, a 429 or a dropped connection on every kind of Slack call the bot makes.

Each call is reached by what a user does (a run, a reply, a click, a command); the fault hits
that call only (`match` on its arguments where the method is also used elsewhere). Slack-side
failures are transient: the user must still get what they asked for, and a Slack failure is
never reported as the run failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e import is_final
from tests.faults.cases import COMMON, NATIVE, Case, Target, attempt, fault_cases, select
from tests.faults.harness import FaultStack
from tests.faults.invariants import email_told, file_shared_once
from tests.faults.steps import email_option, finished_run, reactions_of

KINDS: dict[str, dict[str, Any]] = {
    "500": {"status": 500, "error": "internal_error"},
    "503": {"status": 503, "error": "service_unavailable"},
    "429": {"status": 429, "error": "ratelimited", "retry_after": 1},
    "close": {"action": "close"},
    "close_after_effect": {"action": "close", "performed": True},
}


def arm(stack: FaultStack, method: str, spec: dict[str, Any], **more: Any) -> None:
    stack.slack_fault(method=method, **spec, **more)


# ---- drives ------------------------------------------------------------------------------------


def card_post(stack: FaultStack, spec: dict[str, Any]) -> None:
    arm(stack, "chat.postMessage", spec)
    stack.run("a card whose post fails once")


def continuation_post(stack: FaultStack, spec: dict[str, Any]) -> None:
    arm(stack, "chat.postMessage", spec, match="(continued 2/")
    stack.run("a long answer whose continuation fails once [[chars=16000]]")


def progress_edits(stack: FaultStack, spec: dict[str, Any]) -> None:
    arm(stack, "chat.update", spec, match="Working", count=3)
    stack.run("progress edits fail three times [[duration=3]]")


def final_edit(stack: FaultStack, spec: dict[str, Any]) -> None:
    arm(stack, "chat.update", spec, match="✅")
    stack.run("the final edit fails once")


def channel_join(stack: FaultStack, spec: dict[str, Any]) -> None:
    arm(stack, "conversations.join", spec)
    stack.run("in a channel the bot must join first", channel="C0002")


def file_step(method: str) -> Callable[[FaultStack, dict[str, Any]], None]:
    def drive(stack: FaultStack, spec: dict[str, Any]) -> None:
        arm(stack, method, spec)
        stack.run(f"a file whose {method} fails once [[files=1]]")

    return drive


def email_click(stack: FaultStack, spec: dict[str, Any]) -> None:
    card = finished_run(stack, "a card whose email address is asked for")
    arm(stack, "chat.postEphemeral", spec)
    stack.click(card["ts"], email_option(card))


def reply_marked(method: str) -> Callable[[FaultStack, dict[str, Any]], None]:
    def drive(stack: FaultStack, spec: dict[str, Any]) -> None:
        card = finished_run(stack, f"a reply whose {method} fails once")
        arm(stack, method, spec)
        stack.record.notes["reply"] = stack.reply("mark me", card["ts"])

    return drive


def marks_right(stack: FaultStack) -> list[str]:
    marks = reactions_of(stack, stack.record.notes["reply"])
    if marks != {"white_check_mark"}:
        return [f"the reply ends marked {sorted(marks)}, not just ✅"]
    return []


def streamed_reply(method: str) -> Callable[[FaultStack, dict[str, Any]], None]:
    """A follow-up streamed natively whose `method` fails (three times: appends are many)."""

    def drive(stack: FaultStack, spec: dict[str, Any]) -> None:
        card = finished_run(stack, f"a reply whose {method} fails")
        arm(stack, method, spec, count=3)
        # long enough for three appends even after three 429s paused them a second each
        stack.reply(f"stream me through {method} failing [[duration=5]]", card["ts"])

    return drive


def modal_open(stack: FaultStack, spec: dict[str, Any]) -> None:
    arm(stack, "views.open", spec)
    stack.command("schedule")


def modal_shown(stack: FaultStack) -> list[str]:
    views = stack.slack.get("/_emulator/views").json()["views"]
    if views or stack.ephemerals():
        return []
    return ["/handinger schedule showed neither the form nor an explanation"]


def at_startup(method: str) -> Callable[[FaultStack, dict[str, Any]], None]:
    def drive(stack: FaultStack, spec: dict[str, Any]) -> None:
        arm(stack, method, spec)
        stack.start_bot()
        stack.run(f"after {method} failed once")

    return drive


def status_reply(stack: FaultStack, spec: dict[str, Any]) -> None:
    arm(stack, "response_url", spec)
    stack.command("status")


def permalink(stack: FaultStack, spec: dict[str, Any]) -> None:
    finished_run(stack, "a run listed by status")
    arm(stack, "chat.getPermalink", spec)
    stack.command("status")


def status_listed(stack: FaultStack) -> list[str]:
    if any("workers" in str(e.get("text")).lower() for e in stack.ephemerals()):
        return []
    return ["/handinger status never answered"]


def card_final(channel: str) -> Callable[[FaultStack], list[str]]:
    def expect(stack: FaultStack) -> list[str]:
        cards = [m for m in stack.bot_messages(channel) if is_final(m)]
        return [] if cards else [f"no final card in {channel}"]

    return expect


TARGETS = [
    Target(
        "chat.postMessage_card",
        card_post,
        kinds=(*COMMON, "close_after_effect"),
    ),
    Target(
        "chat.postMessage_continuation",
        continuation_post,
        kinds=(*COMMON, "503"),
    ),
    Target("chat.update_progress", progress_edits),
    Target("chat.update_final", final_edit, kinds=(*COMMON, "503", "close_after_effect")),
    Target("chat.postEphemeral_email", email_click, email_told),
    Target(
        "reactions.add",
        reply_marked("reactions.add"),
        marks_right,
        kinds=(*COMMON, "close_after_effect"),
    ),
    Target("reactions.remove", reply_marked("reactions.remove"), marks_right),
    Target("chat.appendStream", streamed_reply("chat.appendStream"), bot_env=NATIVE),
    Target("chat.stopStream", streamed_reply("chat.stopStream"), bot_env=NATIVE),
    Target("conversations.join", channel_join, card_final("C0002")),
    Target(
        "files.getUploadURLExternal",
        file_step("files.getUploadURLExternal"),
        file_shared_once,
    ),
    Target("files_upload_url", file_step("upload"), file_shared_once),
    Target(
        "files.completeUploadExternal",
        file_step("files.completeUploadExternal"),
        file_shared_once,
        kinds=(*COMMON, "close_after_effect"),
    ),
    Target("views.open", modal_open, modal_shown),
    Target("auth.test", at_startup("auth.test"), start_bot=False),
    Target(
        "apps.connections.open",
        at_startup("apps.connections.open"),
        start_bot=False,
    ),
    Target("response_url", status_reply, status_listed),
    Target("chat.getPermalink", permalink, status_listed),
]
FAST = "chat.update_final-500"


CASES = fault_cases(TARGETS, KINDS, FAST)


@pytest.mark.parametrize("case", select(CASES))
def test_slack(stack: FaultStack, case: Case) -> None:
    attempt(stack, case)
