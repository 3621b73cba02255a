"""Deterministic text and usage for the scripted agent.

Answers are seeded by (turn number, instruction) so different instructions get different text,
and the same instruction on the same turn always gets the same text: tests can compare outputs.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from typing import Any

from .state import Turn

_OPENERS = (
    "Here is what I found about {topic}.",
    "I looked into {topic} and summarised the most useful findings.",
    "Short version first: {topic} is well covered by the sources I checked.",
    "I researched {topic} across a few pages and compared what they say.",
)
_SENTENCES = (
    "The main trade-off is between speed and thoroughness, and most sources favour a staged plan.",
    "Two of the pages agree on the numbers, while a third uses an older baseline.",
    "Costs depend mostly on volume, so a small pilot is the cheapest way to learn more.",
    "The evidence is strongest for the first option and thinner for the alternatives.",
    "Several practitioners report that the setup takes about a day once access is sorted out.",
    "Nothing I read contradicts the original assumption, but the details matter.",
    "A common mistake is to skip measuring the current state before changing anything.",
    "The documentation is clear on limits, less clear on what happens when they are exceeded.",
    "Recent updates changed the defaults, so older guides may be slightly misleading.",
    "If you need a decision today, the conservative choice is also the easiest to reverse.",
)
_BULLETS = (
    "Start with the smallest useful scope",
    "Check the limits before committing",
    "Keep a record of what was tried",
    "Compare at least two independent sources",
    "Revisit the plan after the first week",
    "Ask the owner of the data for access early",
    "Prefer reversible steps over big-bang changes",
)


def slug(text: str) -> str:
    """A URL-safe slug of the first words of the instruction (for source URLs)."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    return "-".join(words)[:48].strip("-") or "research"


def _title(instruction: str) -> str:
    line = " ".join(instruction.split())
    if not line:
        return "Your request"
    return line if len(line) <= 72 else line[:69].rstrip() + "…"


def compose_answer(instruction: str, turn_number: int, min_chars: int = 0) -> str:
    """A markdown answer: heading, paragraphs, a bullet list, and filler up to `min_chars`."""
    seed = hashlib.sha256(f"{turn_number}\n{instruction}".encode()).digest()
    rng = random.Random(int.from_bytes(seed[:8], "big"))
    title = _title(instruction)
    topic = f"“{title}”"
    lines = [
        f"## {title}",
        "",
        f"{rng.choice(_OPENERS).format(topic=topic)} " + " ".join(rng.sample(_SENTENCES, 2)),
        "",
        " ".join(rng.sample(_SENTENCES, 3)),
        "",
        f"**Key points** (turn {turn_number}):",
        "",
        *[f"- {b}" for b in rng.sample(_BULLETS, 3)],
        "",
        f"Sources are listed below; see also [the overview](https://example.org/{slug(title)}).",
    ]
    text = "\n".join(lines)
    section = 1
    while len(text) < min_chars:
        paragraph = " ".join(rng.choice(_SENTENCES) for _ in range(6))
        text += f"\n\n### Detail {section}\n\n{paragraph}"
        section += 1
    return text


def split_text(text: str, chunks: int) -> list[str]:
    """Cut text into `chunks` nearly equal, non-empty deltas (fewer if the text is shorter)."""
    count = max(1, min(chunks, len(text)))
    size = math.ceil(len(text) / count)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def usage_for(
    instruction: str, turn: Turn, steps: int, duration: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plausible, deterministic usage and costs for a turn (latest turn, not cumulative)."""
    multiplier = {"low": 1, "standard": 2, "high": 4, "unlimited": 8}.get(turn.budget, 2)
    input_tokens = 900 + 40 * turn.number + len(instruction) // 3
    output_tokens = max(1, len(turn.text) // 4)
    reasoning_tokens = 64 * steps * multiplier
    model = round((input_tokens * 3 + (output_tokens + reasoning_tokens) * 15) / 1e6, 6)
    tool = round(0.002 * steps, 6)
    sandbox = round(0.0001 * duration, 6)
    internal = 0.0005
    cost = round(model + tool + sandbox + internal, 6)
    usage = {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "reasoningTokens": reasoning_tokens,
        "cacheReadTokens": 512 * (turn.number - 1),
        "cacheWriteTokens": 256,
        "totalTokens": input_tokens + output_tokens + reasoning_tokens,
        "steps": steps + 1,
        "costUsd": cost,
        "credits": max(1, math.ceil(cost * 1000)),
        "durationMs": int(duration * 1000),
    }
    costs = {
        "internalCostUsd": internal,
        "modelCostUsd": model,
        "sandboxCostUsd": sandbox,
        "toolCostUsd": tool,
    }
    return usage, costs
