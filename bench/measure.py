"""From the emulators' records to numbers: what each run showed in Slack, and when.

Everything here is pure (records in, numbers out), so it is easy to check by hand.

When did Handinger emit a chunk? The Handinger emulator stamps every event of a turn with the
real time (`time.time()`) at which it appends it to the turn, before any stream can send it, and
reports them in `GET /_emulator/workers?times=true`: per turn `started_at`, `ended_at` (its
`finish` or `error` event), the time of each text delta, and the length of the answer after each
delta. The Slack emulator stamps every message version with `time.time()` too, on the same
machine, so the two clocks compare directly: a version showing delta k can only come after
delta k was emitted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.slack.markdown import markdown_to_mrkdwn

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
    """One turn as the Handinger emulator measured it (times in Unix seconds): when it started
    and ended (None while running), its answer, and for each text delta when it was emitted and
    how long the answer was after it."""

    tag: str
    worker_id: str
    started: float
    ended: float | None
    answer: str
    delta_times: tuple[float, ...]
    delta_ends: tuple[int, ...]

    @classmethod
    def measured(cls, tag: str, worker_id: str, answer: str, times: dict[str, Any]) -> Turn:
        """From one `turn_times` entry of `GET /_emulator/workers?times=true`."""
        ended = times.get("ended_at")
        return cls(
            tag,
            worker_id,
            float(times["started_at"]),
            None if ended is None else float(ended),
            answer,
            tuple(float(t) for t in times["deltas"]),
            tuple(int(n) for n in times["chars"]),
        )

    @property
    def n(self) -> int:
        return len(self.delta_times)

    def emitted(self, k: int) -> float:
        """When delta k (1-based) was emitted."""
        return self.delta_times[k - 1]

    def prefixes(self) -> list[str]:
        """prefixes()[k] is the text after k deltas."""
        return ["", *(self.answer[:end] for end in self.delta_ends)]


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
    timeline: dict[str, Any] = field(default_factory=dict)
    """Unix times of the turn (`started`, `first_delta`, `ended`) and of every Slack version
    (`versions`: `[time, deltas shown, final]`), for charts (`bench.chart`)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_metrics(turn: Turn, versions: list[Version], correct: bool) -> RunMetrics:
    metrics = RunMetrics(turn.tag, turn.worker_id, versions=len(versions), correct=correct)
    ordered = sorted(versions, key=lambda v: v.time)
    metrics.timeline = {
        "started": round(turn.started, 3),
        "first_delta": round(turn.emitted(1), 3) if turn.n else None,
        "ended": None if turn.ended is None else round(turn.ended, 3),
        "versions": [[round(v.time, 3), v.shown, v.final] for v in ordered],
    }
    finals = [v for v in ordered if v.final]
    metrics.delivered = bool(finals)
    if finals and turn.ended is not None:
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
    if complete is not None and turn.ended is not None:
        metrics.complete_s = round(complete - turn.ended, 4)
    waits = [at - turn.emitted(k) for k, at in enumerate(shown_at) if k and at is not None]
    if waits and all(at is not None for at in shown_at[1:]):
        metrics.staleness_s = round(max(waits), 4)
    return metrics


def peak_overlap(turns: Iterable[Turn]) -> int:
    """The most turns that were running at the same moment (a turn that has not ended runs on)."""
    listed = list(turns)
    edges = sorted(
        [(t.started, 1) for t in listed] + [(t.ended, -1) for t in listed if t.ended is not None],
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
