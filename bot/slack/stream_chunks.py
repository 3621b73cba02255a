"""RunView → the chunks of Slack's native streaming (`markdown_text`, `task_update`), pure.

A stream can only grow: text once appended stays. `StreamedState` remembers what the message
shows (the answer's markdown so far, each task's state and sources) and `delta` says what to
append to show a newer view: the new end of the text, and a `task_update` for each step that is
new or changed. When a view's text no longer extends what was sent (the worker's text was
replaced), no more text is appended (`diverged`); the final message then comes from the edit
path, which can replace it all (ARCHITECTURE.md rule 1).

Untrusted text stays text (rule 6): `defang` breaks Slack's `<…>` tokens (`<!channel>`,
`<@U…>`, `<url|label>`) with a zero-width space after each `<`, one character at a time, so
what was sent is always a prefix of what a longer text gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.views import RunView, TaskView
from .links import safe_url

Chunk = dict[str, Any]

STREAM_CHARS = 11_000
"""The most answer text streamed into one message (Slack takes 12,000 a chunk; its total is not
documented). A longer answer's final message comes from the edit path, with continuations."""
TASK_TITLE_CHARS = 150
MAX_TASK_SOURCES = 5
_ZWSP = "\u200b"


def defang(text: str) -> str:
    """Markdown Slack shows as written: no mention, broadcast or disguised link can form."""
    return text.replace("<", "<" + _ZWSP)


def _streamable(text: str) -> str:
    """The start of an answer that a stream may show, defanged: no more is ever appended, so
    the appends of a long answer cost no more than those of a short one."""
    return defang(text[: STREAM_CHARS + 1])


def task_chunk(task: TaskView) -> Chunk:
    title = " ".join(task.title.split()) or f"Step {task.number}"
    if len(title) > TASK_TITLE_CHARS:
        title = title[: TASK_TITLE_CHARS - 1] + "…"
    chunk: Chunk = {
        "type": "task_update",
        "id": f"step-{task.number}",
        "title": defang(title),
        "status": task.state,
    }
    sources = [
        {"type": "url", "url": s.url, "text": defang(" ".join((s.title or s.url).split())[:150])}
        for s in task.sources
        if safe_url(s.url.strip()) is not None
    ][:MAX_TASK_SOURCES]
    if sources:
        chunk["sources"] = sources
    return chunk


def _task_mark(task: TaskView) -> tuple[str, int]:
    return task.state, min(len(task.sources), MAX_TASK_SOURCES)


@dataclass(slots=True)
class StreamedState:
    """What one streamed message shows so far."""

    sent: str = ""
    tasks: dict[int, tuple[str, int]] = field(default_factory=dict)
    diverged: bool = False

    def delta(self, view: RunView, *, final: bool = False) -> tuple[list[Chunk], str]:
        """The chunks that bring the message up to `view`, and the text it shows after them.

        While streaming, text is appended only while it extends what was sent and fits
        `STREAM_CHARS`. `final`: the view is the finished answer; its text is all sent or none.
        """
        text = defang(view.text) if final else _streamable(view.text)
        chunks: list[Chunk] = []
        shown = self.sent
        grows = text.startswith(self.sent) and len(text) > len(self.sent) and not self.diverged
        if grows and (final or len(text) <= STREAM_CHARS):
            chunks.append({"type": "markdown_text", "text": text[len(self.sent) :]})
            shown = text
        changed = [t for t in view.tasks if self.tasks.get(t.number) != _task_mark(t)]
        chunks.extend(task_chunk(task) for task in changed)
        return chunks, shown

    def fits(self, view: RunView) -> bool:
        """Whether the finished `view` can close this stream: its text extends what was sent
        and the whole answer fits one streamed message."""
        text = _streamable(view.text)
        return not self.diverged and text.startswith(self.sent) and len(text) <= STREAM_CHARS

    def commit(self, view: RunView, shown: str) -> None:
        """The chunks `delta` gave for `view` are in Slack now."""
        if not defang(view.text[: len(self.sent)]).startswith(self.sent):
            self.diverged = True
        self.sent = shown
        for task in view.tasks:
            self.tasks[task.number] = _task_mark(task)


def status_line(view: RunView) -> str:
    """The assistant thread's status ("<app> is …") for a view of a running turn."""
    step = " ".join((view.step or "").split())
    if step:
        step = step[0].lower() + step[1:]
        return f"is {step[:80]}…"
    blank = not view.text or view.text.isspace()  # stops at the first letter, copies nothing
    return "is thinking…" if blank else "is writing…"
