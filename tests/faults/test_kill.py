"""`kill`: SIGKILL the bot at each stage of a run and of a follow-up, then restart it on the
same database. Windows a few milliseconds wide are made certain by holding the one call that
is in flight (the emulators' `hold` faults), never by sleeping.

Tries named `held_handinger_*` hold a Handinger request (`{"action": "hold"}` on
`/_emulator/faults`, `POST /_emulator/release`), a control the recovery work adds to the
Handinger emulator; until that is merged they fail at their first step.
"""

from __future__ import annotations

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


# ---- a run -------------------------------------------------------------------------------------


def run_card_post_in_flight(stack: FaultStack) -> None:
    """Right after the ack: the card is posted but the bot never learns its ts."""
    stack.slack_fault(method="chat.postMessage", action="hold")
    stack.run("kill while the card is posted")
    crash_while_slack_holds(stack)


def held_handinger_create_in_flight(stack: FaultStack) -> None:
    """The create reached Handinger (a worker exists) but its answer never reached the bot."""
    stack.handinger_fault(method="POST", path="^/api/workers$", action="hold")
    stack.run("kill while the worker is created")
    crash_while_handinger_holds(stack, "POST", "/api/workers")


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


def held_handinger_final_get(stack: FaultStack) -> None:
    stack.handinger_fault(method="GET", path="^/api/workers/[^/]+$", action="hold")
    stack.run("kill while the worker is fetched")
    crash_while_handinger_holds(stack, "GET", "/api/workers/")


def run_final_edit_in_flight(stack: FaultStack) -> None:
    stack.slack_fault(method="chat.update", match="✅", action="hold")
    stack.run("kill during the final edit")
    crash_while_slack_holds(stack)


def run_continuation_in_flight(stack: FaultStack) -> None:
    """A long answer: the card is final, its first continuation reply is being posted."""
    stack.slack_fault(method="chat.postMessage", match="(continued 2/", action="hold")
    stack.run("kill while the answer continues [[chars=16000]]")
    crash_while_slack_holds(stack)


def run_file_upload_completing(stack: FaultStack) -> None:
    stack.slack_fault(method="files.completeUploadExternal", action="hold")
    stack.run("kill while files are shared [[files=2]]")
    crash_while_slack_holds(stack)


def run_file_bytes_in_flight(stack: FaultStack) -> None:
    stack.slack_fault(method="upload", action="hold")
    stack.run("kill while file bytes are sent [[files=2]]")
    crash_while_slack_holds(stack)


def held_handinger_file_download(stack: FaultStack) -> None:
    stack.handinger_fault(method="GET", path="^/api/workers/[^/]+/files/", action="hold")
    stack.run("kill while a file is downloaded [[files=1]]")
    crash_while_handinger_holds(stack, "GET", "/api/workers/")


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


def followup_reaction_in_flight(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply is marked")
    stack.slack_fault(method="reactions.add", action="hold")
    stack.reply("kill while the reply is marked", card["ts"])
    crash_while_slack_holds(stack)


def held_handinger_continue_in_flight(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a continue is held")
    stack.handinger_fault(method="POST", path="^/api/workers/[^/]+$", action="hold")
    stack.reply("kill while the worker is continued", card["ts"])
    crash_while_handinger_holds(stack, "POST", "/api/workers/")


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


def followup_stream_start_in_flight(stack: FaultStack) -> None:
    """Slack started the reply's stream; the bot dies before it learns the stream's ts."""
    card = finished_run(stack, "first, then a reply's stream starts")
    stack.slack_fault(method="chat.startStream", action="hold")
    stack.reply("kill while the reply's stream starts [[duration=2]]", card["ts"])
    crash_while_slack_holds(stack)


def followup_stream_stop_in_flight(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply's stream stops")
    stack.slack_fault(method="chat.stopStream", action="hold")
    stack.reply("kill while the reply's stream is closed", card["ts"])
    crash_while_slack_holds(stack)


def followup_final_edit_in_flight(stack: FaultStack) -> None:
    card = finished_run(stack, "first, then a reply's final edit")
    stack.slack_fault(method="chat.update", match="✅", action="hold")
    stack.reply("kill during the reply's final edit", card["ts"])
    crash_while_slack_holds(stack)


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
