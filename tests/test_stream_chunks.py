"""Native streaming's chunks: only what is new is appended, tasks follow their steps, and
untrusted text cannot form Slack tokens."""

from __future__ import annotations

from dataclasses import replace

from bot.core.context_note import looking_at
from bot.core.progress import MAX_TASKS, TurnProgress
from bot.core.views import RunView, TaskView, task_views
from bot.handinger.events import SourceFound, StepProgress, TextDelta
from bot.handinger.models import Source
from bot.slack.stream_chunks import (
    STREAM_CHARS,
    StreamedState,
    defang,
    status_line,
    task_chunk,
)


def view(text: str = "", tasks: tuple[TaskView, ...] = (), **changes: object) -> RunView:
    base = RunView(run_id=1, state="working", requester="U1", instruction="go", text=text)
    return replace(base, tasks=tasks, **changes)  # type: ignore[arg-type]


def task(number: int, state: str = "in_progress", *urls: str) -> TaskView:
    sources = tuple(Source(url=url, title=f"t{number}") for url in urls)
    return TaskView(number=number, title=f"Step {number}", state=state, sources=sources)  # type: ignore[arg-type]


def test_only_the_new_end_of_the_text_is_appended() -> None:
    state = StreamedState()
    chunks, shown = state.delta(view("Hello"))
    assert chunks == [{"type": "markdown_text", "text": "Hello"}]
    state.commit(view("Hello"), shown)
    chunks, shown = state.delta(view("Hello, world"))
    assert chunks == [{"type": "markdown_text", "text": ", world"}]
    state.commit(view("Hello, world"), shown)
    assert state.delta(view("Hello, world")) == ([], "Hello, world")


def test_an_uncommitted_delta_is_sent_again_whole() -> None:
    state = StreamedState()
    state.delta(view("abc"))  # the append failed: nothing committed
    assert state.delta(view("abcdef"))[0] == [{"type": "markdown_text", "text": "abcdef"}]


def test_task_updates_only_for_new_or_changed_steps() -> None:
    state = StreamedState()
    first = view(tasks=(task(1),))
    chunks, shown = state.delta(first)
    assert chunks == [
        {"type": "task_update", "id": "step-1", "title": "Step 1", "status": "in_progress"}
    ]
    state.commit(first, shown)
    second = view("x", tasks=(task(1, "complete", "https://a.example/"), task(2)))
    chunks, shown = state.delta(second)
    assert [c["type"] for c in chunks] == ["markdown_text", "task_update", "task_update"]
    assert chunks[1]["status"] == "complete"
    assert chunks[1]["sources"] == [{"type": "url", "url": "https://a.example/", "text": "t1"}]
    assert chunks[2]["id"] == "step-2"
    state.commit(second, shown)
    assert state.delta(second)[0] == []


def test_replaced_text_diverges_and_stops_text_appends() -> None:
    state = StreamedState()
    chunks, shown = state.delta(view("draft one"))
    state.commit(view("draft one"), shown)
    chunks, shown = state.delta(view("final answer"))
    assert chunks == []
    state.commit(view("final answer"), shown)
    assert state.diverged
    assert not state.fits(view("final answer", state="completed"))
    assert state.delta(view("draft one and more"))[0] == []


def test_text_past_the_stream_limit_waits_for_the_end() -> None:
    state = StreamedState()
    long = "a" * (STREAM_CHARS + 1)
    assert state.delta(view(long))[0] == []
    assert not state.fits(view(long, state="completed"))
    assert state.fits(view("a" * STREAM_CHARS, state="completed"))


def test_defang_breaks_every_slack_token_and_keeps_prefixes() -> None:
    hostile = "<!channel> <@U123> <https://evil.example|bank.com> a < b"
    safe = defang(hostile)
    assert "<!" not in safe and "<@" not in safe and "<h" not in safe
    assert safe.replace("\u200b", "") == hostile
    for cut in range(len(hostile)):
        assert safe.startswith(defang(hostile[:cut]))
    state = StreamedState()
    chunks, _ = state.delta(view("<@U1>", tasks=(TaskView(1, "<!here>", "in_progress"),)))
    assert chunks[0]["text"] == "<\u200b@U1>" and chunks[1]["title"] == "<\u200b!here>"


def test_task_chunk_drops_unsafe_sources_and_caps_the_title() -> None:
    sources = (
        Source(url="javascript:alert(1)", title="x"),
        Source(url="https://ok.example/", title=None),
    )
    chunk = task_chunk(TaskView(3, "x" * 500, "error", sources))
    assert chunk["id"] == "step-3" and chunk["status"] == "error"
    assert len(chunk["title"]) == 150
    assert chunk["sources"] == [
        {"type": "url", "url": "https://ok.example/", "text": "https://ok.example/"}
    ]


def test_steps_become_tasks_with_their_sources_and_end_with_the_turn() -> None:
    progress = TurnProgress()
    progress.apply(StepProgress("Searching the web"))
    progress.apply(SourceFound(Source(url="https://a.example/", title="A")))
    progress.apply(StepProgress("Reading a page"))
    progress.apply(TextDelta("hi"))
    working = task_views(progress, "working")
    assert [(t.number, t.state) for t in working] == [(1, "complete"), (2, "in_progress")]
    assert [s.url for s in working[0].sources] == ["https://a.example/"]
    assert [t.state for t in task_views(progress, "completed")] == ["complete", "complete"]
    assert [t.state for t in task_views(progress, "failed")] == ["complete", "error"]


def test_a_resubscribed_stream_replaying_steps_adds_no_tasks() -> None:
    progress = TurnProgress()
    progress.apply(StepProgress("one"))
    progress.apply(StepProgress("two"))
    progress.resubscribed()
    progress.apply(StepProgress("one"))
    progress.apply(StepProgress("two"))
    progress.apply(StepProgress("three"))
    assert [t.title for t in progress.tasks] == ["one", "two", "three"]
    assert progress.steps == 3


def test_tasks_are_capped() -> None:
    progress = TurnProgress()
    for number in range(MAX_TASKS + 5):
        progress.apply(StepProgress(f"step {number}"))
    assert len(progress.tasks) == MAX_TASKS and progress.steps == MAX_TASKS + 5


def test_status_line_says_what_the_agent_does() -> None:
    assert status_line(view()) == "is thinking…"
    assert status_line(view("some text")) == "is writing…"
    assert status_line(view("x", step="Searching the web")) == "is searching the web…"


def test_the_note_names_only_a_channel_id() -> None:
    assert looking_at("C0001") == "(Context: the user is looking at Slack channel C0001.)"
    assert looking_at(None) is None and looking_at("<!here>") is None


def test_a_resubscribed_stream_rebuilds_the_text_without_shrinking_it() -> None:
    progress = TurnProgress()
    for delta in ("Hello", ", wor"):
        progress.apply(TextDelta(delta))
    progress.resubscribed()
    for delta in ("Hel", "lo, ", "w"):
        progress.apply(TextDelta(delta))
        assert progress.text == "Hello, wor"  # the replay has not caught up yet
    progress.apply(TextDelta("orld"))
    assert progress.text == "Hello, world"
    progress.apply(TextDelta("!"))
    assert progress.text == "Hello, world!"
