"""End to end (issue 15): files a run owes when its process is killed are delivered by a
replica that is already running, once the dead one's lease expires; not only by the next
process to start. Two replicas on one database; the owner is SIGKILLed while Slack holds the
answer to its first upload call (so the run is finished and its files are owed)."""

from __future__ import annotations

from typing import Any

from emulators.harness import Child, server
from tests.e2e import Stack, wait_until

LEASE = "3"


def thread_files(stack: Stack, thread_ts: str) -> list[dict[str, Any]]:
    root = stack.message(thread_ts) or {}
    return [f for reply in root.get("replies", []) for f in reply.get("files", [])]


def test_files_owed_by_a_killed_replica_are_delivered_by_a_live_one(engine_stack: Stack) -> None:
    stack = engine_stack
    owner = stack.start_bot(HANDINGER_LEASE_SECONDS=LEASE)
    stack.slack.post("/_emulator/holds", json={"method": "files.getUploadURLExternal"})
    stack.slash("write the notes [[file=notes.txt]]")
    wait_until(lambda: stack.slack.get("/_emulator/holds").json()["held"] or None, what="upload")
    live: Child = server(
        "bot", ["run"], env=stack.bot_env(HANDINGER_LEASE_SECONDS=LEASE), cwd=stack.tmp
    )
    try:  # the second replica is up (its start-up found the files held by a live owner)
        owner.kill()
        stack.slack.delete("/_emulator/holds").raise_for_status()
        [card] = stack.wait_final_card()
        files = wait_until(lambda: thread_files(stack, card["ts"]) or None, what="the file")
        assert [f["name"] for f in files] == ["notes.txt"]
        uploads = stack.calls("files.completeUploadExternal")
        assert len(uploads) == 1, uploads  # delivered once
        assert "Traceback" not in "\n".join(live.output), "\n".join(live.output[-60:])
    finally:
        live.stop()
