"""Accumulate a turn's stream events into what users should see."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..handinger.events import (
    Failed,
    FileFound,
    Finished,
    HistoryMessage,
    Snapshot,
    SourceFound,
    Started,
    StepProgress,
    StreamEvent,
    TextDelta,
)
from ..handinger.models import Source, Usage, Worker, WorkerFile

MAX_TASKS = 40
"""Steps kept as tasks; a longer turn's later steps count in `steps` but are not listed."""


@dataclass(slots=True)
class Task:
    """One step of the agent (a tool call), with the sources found while it ran."""

    title: str
    sources: list[Source] = field(default_factory=list)


@dataclass(slots=True)
class TurnProgress:
    """The running state of one turn, built from stream events.

    `stale_text` is the previous turn's answer, read from the worker's history before this turn
    (never from a later fetch, which may already show this turn's answer): a worker snapshot
    that still shows it, because the new turn has not produced text yet, is not shown as this
    turn's text. It only affects progress; the final answer comes from the turn's own messages.

    The text is kept in the parts the stream gave it and joined only when read (`text`), which
    a surface does when it sends, about once a second: a stream event costs the length of its
    delta, never the length of the answer so far (`str +=` copied it all on each of an 800 KB
    answer's 100,000 deltas, seconds of event loop that every other run waited through).
    """

    worker_id: str | None = None
    stale_text: str | None = None
    step: str | None = None
    steps: int = 0
    sources: list[Source] = field(default_factory=list)
    files: list[WorkerFile] = field(default_factory=list)
    usage: Usage | None = None
    failure: str | None = None
    tasks: list[Task] = field(default_factory=list)
    _parts: list[str] = field(default_factory=list)
    _chars: int = 0
    _rebuild: list[str] | None = None
    """The replayed text's parts while a new stream catches up (joined once it has)."""
    _rebuilt: int = 0
    _replayed_steps: int | None = None

    @property
    def text(self) -> str:
        """The answer so far; its parts are joined now, once, and kept joined."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @text.setter
    def text(self, text: str) -> None:
        self._parts, self._chars, self._rebuild = [text], len(text), None

    @property
    def text_chars(self) -> int:
        """The answer's length so far, known without joining it."""
        return self._chars

    def apply(self, event: StreamEvent) -> None:
        match event:
            case Started(worker_id=worker_id):
                self.worker_id = self.worker_id or worker_id
            case TextDelta(text=text):
                if self._rebuild is not None:
                    self._rebuild.append(text)
                    self._rebuilt += len(text)
                    if self._rebuilt >= self._chars:
                        self._parts, self._chars = self._rebuild, self._rebuilt
                        self._rebuild = None
                else:
                    self._parts.append(text)
                    self._chars += len(text)
            case Snapshot(worker=worker):
                self._apply_snapshot(worker)
            case StepProgress(label=label):
                self._step(label)
            case SourceFound(source=source):
                if all(s.url != source.url for s in self.sources):
                    self.sources.append(source)
                    if self.tasks:
                        self.tasks[-1].sources.append(source)
            case FileFound(file=file):
                if all(f.url != file.url for f in self.files):
                    self.files.append(file)
            case Finished(usage=usage):
                self.usage = usage or self.usage
            case Failed(message=message):
                self.failure = message
            case HistoryMessage():
                pass  # earlier turns, replayed when (re)subscribing

    def resubscribed(self) -> None:
        """A new stream replays the live turn from its start: rebuild the text quietly.

        The text shown so far stays until the replay has caught up with it, so users never see
        the answer shrink.
        """
        self._rebuild, self._rebuilt = [], 0
        self._replayed_steps = 0

    def _step(self, label: str) -> None:
        """A new step; while a resubscribed stream replays steps already seen, none is new."""
        if self._replayed_steps is not None and self._replayed_steps < len(self.tasks):
            self._replayed_steps += 1
            return
        self._replayed_steps = None
        self.step = label
        self.steps += 1
        if len(self.tasks) < MAX_TASKS:
            self.tasks.append(Task(label))

    def _apply_snapshot(self, worker: Worker) -> None:
        self.worker_id = self.worker_id or worker.id
        text = worker.text
        if text and text != self.stale_text:
            self.text = text
        if worker.usage is not None:
            self.usage = worker.usage
