"""From the emulators' records to numbers: what each run showed in Slack, and when.

Everything here is pure (records in, numbers out), so it is easy to check by hand.

When did Handinger emit a chunk? The Handinger emulator does not record when it emitted each
stream event, so it is derived from its documented, deterministic schedule: a turn's events are
played at `began + duration × i / E` for event i = 1…E, where `began` is the time of the request
that started the turn (the emulator's request log), and the events are, in order: 4 per tool step
(2 steps), `step-start`, `text-start`, the text deltas, `text-end`, one per source (2), one per
file (0), `finish-step` and `finish`. So with n deltas, E = 4·2 + 2 + n + 1 + 2 + 2 = n + 15,
delta k is event 10 + k, and the turn ends at `began + duration`. The deltas are the emulator's
own `split_text(answer, chunks)`. Under load the emulator can only be late, never early, so
latencies measured from this schedule are upper bounds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.sandbox.handinger.script import split_text
from bot.slack.mrkdwn import markdown_to_mrkdwn

TOOL_STEPS = 2
SOURCES = 2
FINAL_PREFIXES = ("✅", "❌")
TAG = re.compile(r"bench run (\d+)")


# ---- statistics ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 4)


def summary(values: Iterable[float | None]) -> dict[str, float | int | None]:
    present = [v for v in values if v is not None]
    return {
        "n": len(present),
        "p50": percentile(present, 50),
        "p95": percentile(present, 95),
        "p99": percentile(present, 99),
        "max": round(max(present), 4) if present else None,
        "mean": round(sum(present) / len(present), 4) if present else None,
    }


def median(values: Iterable[float | None]) -> float | None:
    return percentile([v for v in values if v is not None], 50)


# ---- what Handinger emitted --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    """One scripted turn: its answer, its deltas and when each was emitted (wall seconds)."""

    tag: str
    worker_id: str
    began: float
    duration: float
    answer: str
    deltas: tuple[str, ...]

    @classmethod
    def build(
        cls, tag: str, worker_id: str, began: float, duration: float, answer: str, chunks: int
    ) -> Turn:
        deltas = tuple(split_text(answer, chunks)) if answer else ()
        return cls(tag, worker_id, began, duration, answer, deltas)

    @property
    def n(self) -> int:
        return len(self.deltas)

    @property
    def events(self) -> int:
        return 4 * TOOL_STEPS + 2 + self.n + 1 + SOURCES + 2

    def emitted(self, k: int) -> float:
        """When delta k (1-based) was emitted, by the schedule above."""
        return self.began + self.duration * (4 * TOOL_STEPS + 2 + k) / self.events

    @property
    def ended(self) -> float:
        return self.began + self.duration

    def prefixes(self) -> list[str]:
        """prefixes()[k] is the text after k deltas."""
        out = [""]
        for delta in self.deltas:
            out.append(out[-1] + delta)
        return out


# ---- what Slack showed -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a relay's Slack message: when, how many deltas it shows, final or not."""

    time: float
    shown: int
    final: bool


def section_text(blocks: list[dict[str, Any]] | None) -> str:
    parts = []
    for block in blocks or []:
        text = block.get("text")
        if block.get("type") == "section" and isinstance(text, dict):
            parts.append(str(text.get("text", "")))
    return "\n".join(parts)


def squash(text: str) -> str:
    return "".join(text.split())


def _lookup(shown: str, table: dict[str, int], lengths: list[int]) -> int:
    """How many deltas `shown` reflects: exact match first, else by length (never over)."""
    exact = table.get(shown)
    if exact is not None:
        return exact
    size = len(shown)
    return max((k for k, length in enumerate(lengths) if length <= size), default=0)


def ours_versions(turn: Turn, edits: list[dict[str, Any]]) -> tuple[list[Version], bool]:
    """Our card's versions. Progress cards show `markdown_to_mrkdwn(text so far)` in a section
    after the quoted instruction; the final card (text starting ✅/❌) shows the whole answer.
    Returns the versions and whether the final card holds the complete, correct answer."""
    rendered = [markdown_to_mrkdwn(p) for p in turn.prefixes()]
    table = {text: k for k, text in enumerate(rendered)}
    lengths = [len(text) for text in rendered]
    expected = squash(markdown_to_mrkdwn(turn.answer))
    versions: list[Version] = []
    correct = False
    for edit in edits:
        final = str(edit.get("text", "")).startswith(FINAL_PREFIXES)
        blocks = edit.get("blocks") or []
        if final:
            correct = expected in squash(section_text(blocks))
            versions.append(Version(float(edit["time"]), turn.n if correct else 0, True))
            continue
        answer = [
            str(b["text"]["text"])
            for b in blocks
            if b.get("type") == "section"
            and isinstance(b.get("text"), dict)
            and not str(b["text"].get("text", "")).startswith(">")
        ]
        shown = _lookup(answer[-1], table, lengths) if answer else 0
        versions.append(Version(float(edit["time"]), shown, False))
    return versions, correct


def plain_versions(
    turn: Turn, edits: list[dict[str, Any]], final_source: str | None
) -> tuple[list[Version], bool]:
    """A baseline's message, whose text is the raw markdown so far. The final version is the one
    made by `final_source` (chat.stopStream), or the last one when None (the naive relay's
    final chat.update is its last call)."""
    prefixes = turn.prefixes()
    table = {text: k for k, text in enumerate(prefixes)}
    lengths = [len(text) for text in prefixes]
    versions: list[Version] = []
    for index, edit in enumerate(edits):
        text = str(edit.get("text", ""))
        if final_source is None:
            final = index == len(edits) - 1 and index > 0
        else:
            final = edit.get("source") == final_source
        versions.append(Version(float(edit["time"]), _lookup(text, table, lengths), final))
    last = edits[-1] if edits else {}
    correct = any(v.final for v in versions) and str(last.get("text", "")) == turn.answer
    return versions, correct


# ---- per-run and per-scenario numbers ----------------------------------------------------------


@dataclass(slots=True)
class RunMetrics:
    tag: str
    worker_id: str
    first_text_s: float | None = None
    """First Slack version showing answer text, minus when the first delta was emitted."""
    final_s: float | None = None
    """The relay's final version, minus when the turn ended."""
    complete_s: float | None = None
    """First version showing the whole answer, minus when the turn ended."""
    staleness_s: float | None = None
    """Longest any emitted delta waited before a version showed it."""
    versions: int = 0
    delivered: bool = False
    correct: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_metrics(turn: Turn, versions: list[Version], correct: bool) -> RunMetrics:
    metrics = RunMetrics(turn.tag, turn.worker_id, versions=len(versions), correct=correct)
    ordered = sorted(versions, key=lambda v: v.time)
    finals = [v for v in ordered if v.final]
    metrics.delivered = bool(finals)
    if finals:
        metrics.final_s = round(finals[0].time - turn.ended, 4)
    shown_at: list[float | None] = [None] * (turn.n + 1)
    for version in ordered:
        for k in range(1, version.shown + 1):
            if shown_at[k] is None:
                shown_at[k] = version.time
    first = shown_at[1] if turn.n else None
    if first is not None:
        metrics.first_text_s = round(first - turn.emitted(1), 4)
    complete = shown_at[turn.n] if turn.n else None
    if complete is not None:
        metrics.complete_s = round(complete - turn.ended, 4)
    waits = [at - turn.emitted(k) for k, at in enumerate(shown_at) if k and at is not None]
    if waits and all(at is not None for at in shown_at[1:]):
        metrics.staleness_s = round(max(waits), 4)
    return metrics


def peak_overlap(turns: Iterable[Turn]) -> int:
    """The most turns that were running at the same moment."""
    edges = sorted(
        [(t.began, 1) for t in turns] + [(t.ended, -1) for t in turns],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def tag_of(text: str) -> str | None:
    match = TAG.search(text)
    return match.group(1) if match else None


def instruction(tag: int, words: str = "Summarise the incident log") -> str:
    return f"{words} (bench run {tag:04d})"


def started_at(requests: list[dict[str, Any]]) -> dict[str, float]:
    """Instruction → wall time of the request that created its worker."""
    out: dict[str, float] = {}
    for entry in requests:
        body = entry.get("body")
        creates = entry.get("method") == "POST" and entry.get("path") == "/api/workers"
        if creates and isinstance(body, dict) and isinstance(body.get("input"), str):
            out.setdefault(body["input"], float(entry["time"]))
    return out


def call_counts(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Web API calls by method, and 429s by method."""
    by_method: dict[str, int] = {}
    limited: dict[str, int] = {}
    for call in calls:
        method = str(call.get("method"))
        by_method[method] = by_method.get(method, 0) + 1
        if call.get("status") == 429:
            limited[method] = limited.get(method, 0) + 1
    return {
        "total": len(calls),
        "by_method": dict(sorted(by_method.items())),
        "429": sum(limited.values()),
        "429_by_method": dict(sorted(limited.items())),
    }
