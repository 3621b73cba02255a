"""Small waits shared by the fault tries: a card streaming, a run finished, a turn ended."""

from __future__ import annotations

from typing import Any

from tests.e2e import is_final, wait_until
from tests.faults.harness import FaultStack


def streaming_card(stack: FaultStack, thread_ts: str | None = None) -> dict[str, Any]:
    """The run message being edited with its answer (a root card, or a reply in a thread)."""

    def found() -> dict[str, Any] | None:
        for message in stack.all_messages():
            if not message.get("bot_id") or is_final(message):
                continue
            if thread_ts is not None and message.get("thread_ts") != thread_ts:
                continue
            if thread_ts is not None and message["ts"] == thread_ts:
                continue
            if len(message.get("edits", [])) >= 2:
                return message
        return None

    return wait_until(found, what="a card streaming its answer")


def finished_run(stack: FaultStack, text: str) -> dict[str, Any]:
    """Start a run and wait until its card is final and its worker idle."""
    before = {m["ts"] for m in stack.bot_messages() if is_final(m)}
    stack.run(text)

    def card() -> dict[str, Any] | None:
        done = [m for m in stack.bot_messages() if is_final(m) and m["ts"] not in before]
        return done[0] if done else None

    found = wait_until(card, what=f"the card of {text!r}")
    wait_until(
        lambda: all(w["status"] != "running" for w in stack.workers()), what="an idle worker"
    )
    return found


def email_option(card: dict[str, Any]) -> str:
    """The value of the card's menu option that asks for the worker's email address."""
    return next(
        str(o["value"])
        for b in card["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
        for o in e.get("options", [])
        if o["value"].startswith("email:")
    )


def only_worker(stack: FaultStack) -> dict[str, Any]:
    workers = wait_until(stack.workers, what="a worker")
    assert len(workers) == 1, workers
    return workers[0]


def turn_ended(stack: FaultStack, worker_id: str, turns: int) -> None:
    def ended() -> bool:
        listed = [w for w in stack.workers() if w["id"] == worker_id]
        return bool(listed) and listed[0]["turns"] >= turns and listed[0]["status"] != "running"

    wait_until(ended, what=f"turn {turns} of {worker_id} to end")


def fetched_after_end(stack: FaultStack, worker_id: str) -> bool:
    """The app fetched the worker (a plain GET) after its latest turn ended."""
    [listed] = [
        w
        for w in stack.handinger.get("/_emulator/workers", params={"times": "true"}).json()
        if w["id"] == worker_id
    ]
    ended = listed["turn_times"][-1]["ended_at"]
    if ended is None:
        return False
    return any(
        r["method"] == "GET"
        and r["path"] == f"/api/workers/{worker_id}"
        and not r["query"]
        and r["time"] > ended
        and r["finished"] is not None
        for r in stack.requests()
    )


def reactions_of(stack: FaultStack, ts: str) -> set[str]:
    message = stack.message(ts)
    return {r["name"] for r in (message or {}).get("reactions", [])}


def answers_streaming(stack: FaultStack, runs: int = 1) -> None:
    """Wait until `runs` workers are streaming the text of their answer (past the tool steps),
    which is when rendering it costs the most."""

    def streaming() -> bool:
        listed = stack.handinger.get("/_emulator/workers", params={"times": "true"}).json()
        started = [w for w in listed if w["turn_times"] and w["turn_times"][-1]["first_text_at"]]
        return len(started) >= runs

    wait_until(streaming, what=f"{runs} answer(s) streaming")
