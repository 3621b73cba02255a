"""Which answer a finished turn shows: its own assistant message(s) in the worker's history,
found by where its instruction sits, whatever ran after it (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any

from bot.core.outcome import conclude
from bot.core.progress import TurnProgress
from bot.handinger.history import answer_before, turn_reply, turn_stored
from bot.handinger.models import Worker
from bot.store import Run


def user(text: str) -> dict[str, Any]:
    return {"id": "u", "role": "user", "parts": [{"type": "text", "text": text}]}


def assistant(text: str, *urls: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "step-start"}, {"type": "text", "text": text}]
    parts += [{"type": "source-url", "sourceId": u, "url": u} for u in urls]
    return {"id": "a", "role": "assistant", "parts": parts}


def worker(*messages: Any, text: str = "", running: bool = False, error: Any = None) -> Worker:
    return Worker(
        id="w1",
        status="running" if running else "completed",
        running=running,
        output_text=text,
        messages=list(messages),
        error=error,
    )


def run(messages_before: int | None, kind: str = "continue") -> Run:
    return Run(
        id=1,
        team_id="T1",
        channel_id="C1",
        thread_ts="1.1",
        kind=kind,  # type: ignore[arg-type]
        input="second",
        budget="standard",
        user_id="U1",
        status="running",
        created_at=0.0,
        messages_before=messages_before,
    )


HISTORY = (user("first"), assistant("one"), user("second"), assistant("two", "https://s/2"))


def test_a_turn_shows_its_own_reply_even_when_the_worker_shows_it_already() -> None:
    # The defect: the worker's text equals this turn's answer (it finished while the app was
    # down); the answer must not be taken for the previous turn's and dropped.
    progress = TurnProgress(stale_text="two")
    outcome = conclude(run(2), worker(*HISTORY, text="two"), progress)
    assert progress.text == "two" and outcome.state == "completed"
    assert outcome.worker is not None  # the latest turn: its usage and costs are this turn's
    assert [s.url for s in progress.sources] == ["https://s/2"]


def test_a_later_turn_does_not_replace_this_turns_reply() -> None:
    later = worker(*HISTORY, user("scheduled"), assistant("three"), text="three", error="boom")
    progress = TurnProgress()
    progress.text = "streamed"
    outcome = conclude(run(2), later, progress)
    assert progress.text == "two"
    assert outcome.worker is None and outcome.state == "completed"  # its error is not ours


def test_several_assistant_messages_of_one_turn_are_joined() -> None:
    split = worker(user("q"), assistant("part one"), assistant("part two"), user("next"))
    reply = turn_reply(split, 0)
    assert reply is not None and reply.text == "part one\n\npart two"


def test_an_unreadable_history_falls_back_to_the_latest_text() -> None:
    odd = worker({"kind": "x"}, {"kind": "y"}, {"kind": "z"}, text="latest")
    progress = TurnProgress()
    progress.text = "streamed"
    assert turn_reply(odd, 2) is None
    assert conclude(run(2), odd, progress).state == "completed" and progress.text == "latest"


def test_a_failed_turn_without_text_says_why() -> None:
    failed = worker(user("q"), {"id": "a", "role": "assistant", "parts": []}, error="it broke")
    progress = TurnProgress()
    outcome = conclude(run(None, "new"), failed, progress)
    assert outcome.state == "failed" and outcome.error == "it broke"


def test_where_a_turn_was_stored_and_what_came_before() -> None:
    assert turn_stored(worker(*HISTORY), 2, "second")
    assert not turn_stored(worker(*HISTORY), 2, "something else")  # a schedule's turn there
    assert not turn_stored(worker(*HISTORY[:2]), 2, "second")  # never arrived
    assert turn_stored(worker({}, {}, {}), 2, "second")  # unreadable: any message counts
    assert answer_before(worker(*HISTORY), 2) == "one"
    assert answer_before(worker(*HISTORY), 0) is None
