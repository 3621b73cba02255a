"""`handinger`: 5xx, 429, dropped connections, cut, stalled and malformed event streams on every
Handinger endpoint the bot uses: create, continue, get, stream, email, files, and schedules
(create, list, delete). A faulted request never has an effect on the emulator.

Not covered: a plain request slower than the client's 60-second timeout (too slow for a test);
a silent stream past its idle limit is (`stream_stall`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulators.credentials import HANDINGER_KEY
from tests.e2e import is_final, wait_until
from tests.faults.cases import COMMON, Case, Target, attempt, fault_cases, select
from tests.faults.harness import FaultStack
from tests.faults.invariants import email_told, file_shared_once
from tests.faults.steps import email_option, finished_run

KINDS: dict[str, dict[str, Any]] = {
    "500": {"status": 500, "error": "Internal error"},
    "500x3": {"status": 500, "error": "Internal error", "count": 3},
    "503": {"status": 503, "error": "Service unavailable", "retry_after": "1"},
    "429": {"status": 429, "error": "Too many requests", "retry_after": "1"},
    "close": {"action": "close"},
    "400_secret": {"status": 400, "error": f"Bad request: Authorization: Bearer {HANDINGER_KEY}"},
    "500_secret": {"status": 500, "error": f"upstream failed with key {HANDINGER_KEY}", "count": 3},
}
SSE_GARBAGE = {
    "bad_json": "data: {bad json\n\n",
    "not_objects": 'data: [1,2,3]\n\ndata: "text"\n\ndata: 42\n\ndata: null\n\n',
    "wrong_types": (
        'data: {"type":"text-delta","delta":{"x":1}}\n\n'
        'data: {"type":"source-url","url":7}\n\n'
        'data: {"object":"worker","id":null,"output_text":[]}\n\n'
    ),
    "early_finish": 'data: {"type":"finish","finishReason":"stop"}\n\n',
    "early_done": "data: [DONE]\n\n",
    "error_event": (
        f'data: {{"type":"error","errorText":"stream broke, Bearer {HANDINGER_KEY}"}}\n\n'
    ),
    "fields": "event: message\nid: 7\nretry: soon\n: a comment\n\n",
    "binary": "data: \udcff\udcfe\udc80\n\n",
    "split_frame": 'data: {"type":"text-delta",\ndata: "delta":"x"}\n\n',
    "huge_line": "data: " + "x" * 1_000_000 + "\n\n",
}
WORKER = "^/api/workers/[^/]+$"


def some_card_final(stack: FaultStack) -> list[str]:
    return [] if any(is_final(m) for m in stack.bot_messages()) else ["no card ever ended"]


def create(stack: FaultStack, spec: dict[str, Any]) -> None:
    stack.handinger_fault(method="POST", path="^/api/workers$", **spec)
    stack.run("a create that fails")


def create_said_truly(stack: FaultStack) -> list[str]:
    """The card ends, and says it retried only if it did."""
    problems = some_card_final(stack)
    sent = [r for r in stack.requests() if r["method"] == "POST" and r["path"] == "/api/workers"]
    said = " ".join(str(m["blocks"]) for m in stack.bot_messages())
    if len(sent) == 1 and "retrying" in said:
        problems.append("the card says it retried a create that was sent once")
    return problems


def continue_(stack: FaultStack, spec: dict[str, Any]) -> None:
    card = finished_run(stack, "first, then a continue that fails")
    stack.handinger_fault(method="POST", path=WORKER, **spec)
    stack.record.notes["thread"] = card["ts"]
    stack.reply("a continue that fails", card["ts"])


def reply_final(stack: FaultStack) -> list[str]:
    root = stack.message(stack.record.notes["thread"]) or {}
    replies = [r for r in root.get("replies", []) if r.get("bot_id") and is_final(r)]
    return [] if replies else ["the reply never got a final message"]


def get(stack: FaultStack, spec: dict[str, Any]) -> None:
    stack.handinger_fault(method="GET", path=WORKER, **spec)
    stack.run("the final fetch fails")


def stream_endpoint(stack: FaultStack, spec: dict[str, Any]) -> None:
    """The create's stream is cut early, so the bot re-subscribes to `/stream`, which fails."""
    stack.stream_fault(cut_after=4)
    stack.handinger_fault(method="GET", path="^/api/workers/[^/]+/stream$", **spec)
    stack.run("a re-subscription that fails [[duration=3]]")


def email(stack: FaultStack, spec: dict[str, Any]) -> None:
    card = finished_run(stack, "a card whose email is asked for")
    stack.handinger_fault(method="GET", path="/email$", **spec)
    stack.click(card["ts"], email_option(card))


def files(stack: FaultStack, spec: dict[str, Any]) -> None:
    stack.handinger_fault(method="GET", path="/files/", **spec)
    stack.run("a file whose download fails [[files=1]]")


def schedule_create(stack: FaultStack, spec: dict[str, Any]) -> None:
    stack.handinger_fault(method="POST", path="/schedules$", **spec)
    stack.run("schedule every 1h a schedule whose creation fails")


def schedule_told(stack: FaultStack) -> list[str]:
    said = " ".join(str(e.get("text")) + str(e.get("blocks")) for e in stack.ephemerals())
    if "Scheduled:" in said or "could not be created" in said:
        return some_card_final(stack)
    return ["the user was never told whether the schedule exists", *some_card_final(stack)]


def scheduled(stack: FaultStack, text: str) -> str:
    """Make a schedule (its first run finished) and return its id."""
    finished_run(stack, f"schedule every 1h {text}")
    said = wait_until(
        lambda: [e for e in stack.ephemerals() if "Scheduled:" in str(e)], what="confirmation"
    )
    shown = str(said[-1])
    return shown[shown.index("unschedule ") + len("unschedule ") :].split("`")[0].strip()


def schedule_list(stack: FaultStack, spec: dict[str, Any]) -> None:
    stack.record.notes["schedule"] = scheduled(stack, "a schedule listed while Handinger fails")
    stack.handinger_fault(method="GET", path="/schedules$", **spec)
    stack.command("schedules")


def schedule_listed(stack: FaultStack) -> list[str]:
    wanted = stack.record.notes["schedule"]
    if any(wanted in str(e) and "Scheduled:" not in str(e) for e in stack.ephemerals()):
        return []
    return ["/handinger schedules never listed the schedule"]


def schedule_delete(stack: FaultStack, spec: dict[str, Any]) -> None:
    schedule_id = scheduled(stack, "a schedule cancelled while Handinger fails")
    stack.handinger_fault(method="DELETE", path="/schedules/", **spec)
    stack.command(f"unschedule {schedule_id}")


def schedule_cancelled(stack: FaultStack) -> list[str]:
    if any("Cancelled" in str(e) for e in stack.ephemerals()):
        return []
    return ["the schedule was not cancelled after a transient failure"]


TARGETS = [
    Target("create", create, create_said_truly, (*COMMON, "503", "400_secret")),
    Target("continue", continue_, reply_final, (*COMMON, "503", "500_secret")),
    Target("get", get, None, (*COMMON, "503", "500x3")),
    Target("stream", stream_endpoint),
    Target("email", email, email_told),
    Target("files", files, file_shared_once),
    Target("schedules_create", schedule_create, schedule_told),
    Target("schedules_list", schedule_list, schedule_listed),
    Target("schedules_delete", schedule_delete, schedule_cancelled),
]


# ---- event streams -------------------------------------------------------------------------------


def stream_cut(stack: FaultStack) -> None:
    stack.stream_fault(cut_after=5)
    stack.run("a stream cut after five events [[duration=2]]")


def reply_stream_cut(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply whose stream is cut")
    stack.stream_fault(cut_after=3)
    stack.reply("a reply whose stream is cut [[duration=2]]", card["ts"])


def stream_stall(stack: FaultStack) -> None:
    stack.stream_fault(stall_after=3, stall_seconds=4)
    stack.run("a stream that goes silent [[duration=2]]")


def garbage(raw: str, after: int) -> Callable[[FaultStack], None]:
    def drive(stack: FaultStack) -> None:
        stack.stream_fault(inject_after=after, inject=raw)
        stack.run("a stream with garbage in it [[duration=2]]")

    return drive


def reply_garbage(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply with garbage in its stream")
    stack.stream_fault(inject_after=6, inject=SSE_GARBAGE["bad_json"])
    stack.reply("a reply with garbage in its stream [[duration=2]]", card["ts"])


STALL = (("HANDINGER_STREAM_IDLE_TIMEOUT", "1.5"),)
FAST = "create-400_secret"


def cases() -> list[Case]:
    found = fault_cases(TARGETS, KINDS, FAST)
    found += [
        Case("stream_cut", stream_cut),
        Case("reply_stream_cut", reply_stream_cut),
        Case("stream_stall", stream_stall, bot_env=STALL),
        Case("reply_stream_garbage-bad_json", reply_garbage),
    ]
    found += [Case(f"stream_garbage-{name}", garbage(raw, 6)) for name, raw in SSE_GARBAGE.items()]
    return found


CASES = cases()


@pytest.mark.parametrize("case", select(CASES))
def test_handinger(stack: FaultStack, case: Case) -> None:
    attempt(stack, case)
