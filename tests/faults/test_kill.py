"""`kill`: SIGKILL the bot at each stage of a run and of a follow-up, then restart it on the
same database. Windows a few milliseconds wide are made certain by holding the one call that
is in flight (the emulators' `hold` faults), never by sleeping.

Tries named `held_handinger_*` hold a Handinger request (`{"action": "hold"}` on
`/_emulator/faults`, `POST /_emulator/release`), a control the recovery work adds to the
Handinger emulator; until that is merged they fail at their first step.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e import wait_until
from tests.faults.cases import NATIVE, Case, attempt, select
from tests.faults.harness import FaultStack
from tests.faults.steps import (
    fetched_after_end,
    finished_run,
    only_worker,
    reactions_of,
    streaming_card,
    turn_ended,
)

FAST_CHECKS = (("HANDINGER_SCHEDULE_CHECK_SECONDS", "0.5"),)
Drive = Callable[[FaultStack], None]


def crash_while_slack_holds(stack: FaultStack) -> None:
    """The held Slack call has taken effect; kill the bot before it hears back, then restart."""
    stack.wait_slack_held()
    stack.kill()
    stack.release_slack()
    stack.restart()


def crash_while_handinger_holds(stack: FaultStack, method: str, path: str) -> None:
    wait_until(lambda: stack.held_handinger(method, path), what=f"{method} {path} held")
    stack.kill()
    stack.release_handinger()
    stack.restart()


def run_held_by_slack(text: str, method: str, match: str | None = None) -> Drive:
    """A run whose Slack `method` call (the one whose arguments contain `match`) has taken
    effect when the bot is killed, before it hears back."""

    def drive(stack: FaultStack) -> None:
        stack.slack_fault(method=method, match=match, action="hold")
        stack.run(text)
        crash_while_slack_holds(stack)

    return drive


def reply_held_by_slack(first: str, text: str, method: str, match: str | None = None) -> Drive:
    """A finished run `first`, then a reply `text` whose Slack `method` call is held while
    the bot is killed."""

    def drive(stack: FaultStack) -> None:
        card = finished_run(stack, first)
        stack.slack_fault(method=method, match=match, action="hold")
        stack.reply(text, card["ts"])
        crash_while_slack_holds(stack)

    return drive


def run_held_by_handinger(text: str, method: str, pattern: str, path: str) -> Drive:
    """A run whose Handinger request (`method`, path matching `pattern`) reached Handinger,
    which has not answered it when the bot is killed."""

    def drive(stack: FaultStack) -> None:
        stack.handinger_fault(method=method, path=pattern, action="hold")
        stack.run(text)
        crash_while_handinger_holds(stack, method, path)

    return drive


# ---- a run -------------------------------------------------------------------------------------


# right after the ack: the card is posted but the bot never learns its ts
run_card_post_in_flight = run_held_by_slack("kill while the card is posted", "chat.postMessage")
# the create reached Handinger (a worker exists) but its answer never reached the bot
held_handinger_create_in_flight = run_held_by_handinger(
    "kill while the worker is created", "POST", "^/api/workers$", "/api/workers"
)
held_handinger_final_get = run_held_by_handinger(
    "kill while the worker is fetched", "GET", "^/api/workers/[^/]+$", "/api/workers/"
)
held_handinger_file_download = run_held_by_handinger(
    "kill while a file is downloaded [[files=1]]",
    "GET",
    "^/api/workers/[^/]+/files/",
    "/api/workers/",
)
run_final_edit_in_flight = run_held_by_slack("kill during the final edit", "chat.update", "✅")
# a long answer: the card is final, its first continuation reply is being posted
run_continuation_in_flight = run_held_by_slack(
    "kill while the answer continues [[chars=16000]]", "chat.postMessage", "(continued 2/"
)
run_file_upload_completing = run_held_by_slack(
    "kill while files are shared [[files=2]]", "files.completeUploadExternal"
)
run_file_bytes_in_flight = run_held_by_slack("kill while file bytes are sent [[files=2]]", "upload")


def run_mid_stream(stack: FaultStack) -> None:
    stack.run("kill mid stream [[duration=4]]")
    streaming_card(stack)
    stack.kill()
    stack.restart()


def run_mid_stream_back_after_the_turn(stack: FaultStack) -> None:
    """Killed mid-stream, back only once the turn has ended."""
    stack.run("kill mid stream, restart later [[duration=3]]")
    streaming_card(stack)
    stack.kill()
    turn_ended(stack, only_worker(stack)["id"], 1)
    stack.restart()


def run_turn_ended_before_final_edit(stack: FaultStack) -> None:
    """The turn ended and the bot fetched the worker, but Slack refuses every edit for now."""
    stack.slack_fault(method="chat.update", status=429, retry_after=60, count=10_000)
    stack.run("kill before the final edit")
    worker = only_worker(stack)
    turn_ended(stack, worker["id"], 1)
    wait_until(lambda: fetched_after_end(stack, worker["id"]), what="the final GET")
    stack.kill()
    stack.clear_slack_faults()
    stack.restart()


def run_with_queued_followups(stack: FaultStack) -> None:
    stack.run("kill with replies queued [[duration=4]]")
    card = streaming_card(stack)
    first = stack.reply("first queued reply [[duration=1]]", card["ts"])
    second = stack.reply("second queued reply [[duration=1]]", card["ts"])
    wait_until(
        lambda: all("hourglass_flowing_sand" in reactions_of(stack, ts) for ts in (first, second)),
        what="both replies queued",
    )
    stack.kill()
    stack.restart()


def digest_due_while_down(stack: FaultStack) -> None:
    finished_run(stack, "schedule every 1h count the deploys [[duration=1]]")
    worker = only_worker(stack)
    stack.kill()
    stack.advance(3601)
    stack.record.extra_turns += 1
    turn_ended(stack, worker["id"], 2)
    stack.restart()
    wait_until(lambda: len(digests(stack)) == 2, what="the late digest")


def digest_post_in_flight(stack: FaultStack) -> None:
    finished_run(stack, "schedule every 1h count the incidents [[duration=1]]")
    worker = only_worker(stack)
    stack.slack_fault(method="chat.postMessage", match="Scheduled digest", action="hold")
    stack.advance(3601)
    stack.record.extra_turns += 1
    turn_ended(stack, worker["id"], 2)
    crash_while_slack_holds(stack)


def digests(stack: FaultStack) -> list[dict[str, object]]:
    return [m for m in stack.bot_messages() if "Scheduled digest" in str(m["blocks"])]


# ---- a follow-up -------------------------------------------------------------------------------


def followup_card_post_in_flight(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply is killed")
    stack.slack_fault(method="chat.postMessage", match=card["ts"], action="hold")
    stack.reply("kill while the reply card is posted", card["ts"])
    crash_while_slack_holds(stack)


def held_handinger_continue_in_flight(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a continue is held")
    stack.handinger_fault(method="POST", path="^/api/workers/[^/]+$", action="hold")
    stack.reply("kill while the worker is continued", card["ts"])
    crash_while_handinger_holds(stack, "POST", "/api/workers/")


followup_reaction_in_flight = reply_held_by_slack(
    "first, then a reply is marked", "kill while the reply is marked", "reactions.add"
)
# Slack started the reply's stream; the bot dies before it learns the stream's ts
followup_stream_start_in_flight = reply_held_by_slack(
    "first, then a reply's stream starts",
    "kill while the reply's stream starts [[duration=2]]",
    "chat.startStream",
)
followup_stream_stop_in_flight = reply_held_by_slack(
    "first, then a reply's stream stops",
    "kill while the reply's stream is closed",
    "chat.stopStream",
)
followup_final_edit_in_flight = reply_held_by_slack(
    "first, then a reply's final edit", "kill during the reply's final edit", "chat.update", "✅"
)


def followup_turn_landed_stream_stalled(stack: FaultStack) -> None:
    """Issue 12's first defect: the reply's turn landed, the stream is silent, the bot dies."""
    card = finished_run(stack, "first, then a stalled reply")
    worker = only_worker(stack)
    stack.stream_fault(stall_after=0, stall_seconds=4)
    stack.reply("kill while the reply stream stalls [[duration=1]]", card["ts"])
    wait_until(lambda: len(stack.worker(worker["id"])["messages"]) >= 3, what="the reply's turn")
    stack.kill()
    turn_ended(stack, worker["id"], 2)  # as in the issue: back only after the turn ended
    stack.restart()


def followup_mid_stream(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply streams")
    stack.reply("kill while the reply streams [[duration=4]]", card["ts"])
    streaming_card(stack, thread_ts=card["ts"])
    stack.kill()
    stack.restart()


def followup_mid_stream_back_after_the_turn(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply streams, restart later")
    worker = only_worker(stack)
    stack.reply("kill while the reply streams, restart later [[duration=3]]", card["ts"])
    streaming_card(stack, thread_ts=card["ts"])
    stack.kill()
    turn_ended(stack, worker["id"], 2)
    stack.restart()


CASES = [
    Case("run_card_post_in_flight", run_card_post_in_flight),
    Case("run_mid_stream", run_mid_stream),
    Case("run_mid_stream_back_after_the_turn", run_mid_stream_back_after_the_turn),
    Case("run_turn_ended_before_final_edit", run_turn_ended_before_final_edit),
    Case("run_final_edit_in_flight", run_final_edit_in_flight, fast=True),
    Case("run_continuation_in_flight", run_continuation_in_flight),
    Case("run_file_upload_completing", run_file_upload_completing),
    Case("run_file_bytes_in_flight", run_file_bytes_in_flight),
    Case("run_with_queued_followups", run_with_queued_followups),
    Case("digest_due_while_down", digest_due_while_down, bot_env=FAST_CHECKS),
    Case("digest_post_in_flight", digest_post_in_flight, bot_env=FAST_CHECKS),
    Case("followup_card_post_in_flight", followup_card_post_in_flight),
    Case("followup_reaction_in_flight", followup_reaction_in_flight),
    Case("followup_turn_landed_stream_stalled", followup_turn_landed_stream_stalled),
    Case("followup_mid_stream", followup_mid_stream),
    Case("followup_mid_stream_back_after_the_turn", followup_mid_stream_back_after_the_turn),
    Case("followup_final_edit_in_flight", followup_final_edit_in_flight),
    Case("native_followup_mid_stream", followup_mid_stream, bot_env=NATIVE),
    Case("native_followup_stream_start_in_flight", followup_stream_start_in_flight, bot_env=NATIVE),
    Case("native_followup_stream_stop_in_flight", followup_stream_stop_in_flight, bot_env=NATIVE),
    # These hold a Handinger request: they need the Handinger emulator's `hold` fault.
    Case("held_handinger_create_in_flight", held_handinger_create_in_flight),
    Case("held_handinger_final_get", held_handinger_final_get),
    Case("held_handinger_file_download", held_handinger_file_download),
    Case("held_handinger_continue_in_flight", held_handinger_continue_in_flight),
]


@pytest.mark.parametrize("case", select(CASES))
def test_kill(stack: FaultStack, case: Case) -> None:
    attempt(stack, case)
