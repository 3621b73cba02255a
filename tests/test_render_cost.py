"""Rendering hostile markdown costs at most a fixed multiple of rendering plain text.

A worker's answer is untrusted and can be long: `https://a/` and 30,000 `)` used to take seconds
and freeze the bot. Each adversarial input here is 300,000 characters and may take at most
`RATIO` times as long as plain text of the same length, measured in this process (a ratio, not
a time, so a slow machine does not fail it). A quadratic step fails by orders of magnitude.

"Plain text of the same length" is the dearer of two: prose (words, punctuation, 80-character
lines, paragraphs), and the input itself with every non-blank character replaced by a letter (same
lines and words, no markup), because the parser's cost per line is not markup's doing.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from functools import cache

import pytest

from bot.core.views import RunView
from bot.slack.markdown import markdown_to_mrkdwn
from bot.slack.render import render_final, render_progress

SIZE = 300_000
CONVERTER_SIZE = 60_000
RATIO = 50
"""Measured worst: about 30 (runs of `_a`, `[a](` and `*a`, where the parser handles each
character as a delimiter in Python). A quadratic step measures in the thousands at this size."""


def run(n: int, piece: str) -> str:
    return (piece * (n // len(piece) + 1))[:n]


def adversarial(n: int) -> dict[str, str]:
    half = n // 2
    return {
        "url and parens": "https://a/" + ")" * (n - 10),
        "open brackets": "[" * n,
        "close brackets": "]" * n,
        "nested brackets": "[" * half + "]" * half,
        "link openers": run(n, "[a]("),
        "image openers": run(n, "!["),
        "nested links": run(n, "[a [b [c](https://x.io)](https://y.io)"),
        "stars": "*" * n,
        "star words": run(n, "*a "),
        "underscores": run(n, "_a"),
        "mixed emphasis": run(n, "*a_"),
        "tildes": run(n, "~~a "),
        "backticks": "`" * n,
        "backtick pairs": run(n, "` "),
        "backtick runs": run(n, "`a``"),
        "angle brackets": "<" * n,
        "tags": run(n, "<a>"),
        "ampersands": "&" * n,
        "entities": run(n, "&#60;"),
        "backslashes": "\\" * n,
        "bangs": "!" * n,
        "pipes": "|" * n,
        "urls": run(n, "https://x.io/a_b "),
        "urls without spaces": run(n, "https://x.io/"),
        "colons": run(n, "http:"),
        "deceptive links": run(n, "[https://bank.example](https://evil.example) "),
        "mentions": run(n, "<!here> <@U123> "),
        "bidi labels": run(n, "\u202e[a.b](https://c.d) "),
        "deep lists": "".join("  " * (i % 60) + "- x\n" for i in range(n // 60))[:n],
        "deep quotes": run(n, "> " * 30 + "x\n"),
        "quote markers": ">" * n,
        "table rows": run(n, "| a | b |\n|---|---|\n" + "| x | y |\n" * 50 + "\n"),
        "fences": run(n, "```\n"),
        "empty headings": run(n, "#\n"),
        "newlines": "\n" * n,
    }


@cache
def prose(n: int) -> str:
    """Plain text as people write it: words, punctuation, numbers, lines, paragraphs."""
    rng = random.Random(1)
    words = ["the", "quick", "fox", "deploy", "service", "incident", "report", "owner", "week"]
    marks = ["", "", "", "", ",", ".", ":", " -", "'s", "!", "?", ";", f" ({rng.randint(1, 99)}%)"]
    lines: list[str] = []
    size = 0
    while size < n:
        lines.append(" ".join(rng.choice(words) + rng.choice(marks) for _ in range(12)))
        if rng.random() < 0.2:
            lines.append("")
        size += len(lines[-1]) + 1
    return "\n".join(lines)[:n]


def plain_like(text: str) -> str:
    return re.sub(r"\S", "a", text)


def best(render: Callable[[str], object], text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        render(text)
        times.append(time.perf_counter() - start)
    return min(times)


def final(text: str) -> object:
    return render_final(
        RunView(run_id=1, state="completed", requester="U1", instruction="x", text=text)
    )


def progress(text: str) -> object:
    return render_progress(
        RunView(run_id=1, state="working", requester="U1", instruction="x", text=text)
    )


def within_ratio(render: Callable[[str], object], text: str) -> tuple[bool, float]:
    """Whether rendering `text` stays within RATIO × plain text, both timed just now (the
    machine may be busy with other work); a second try absorbs a pause."""
    ratio = 0.0
    for _ in range(2):
        baseline = max(best(render, prose(len(text)), 3), best(render, plain_like(text), 2))
        ratio = best(render, text, 1) / baseline
        if ratio <= RATIO:
            return True, ratio
    return False, ratio


@pytest.mark.parametrize("name", list(adversarial(1)))
def test_rendering_300k_of_hostile_markdown_costs_like_plain_text(name: str) -> None:
    text = adversarial(SIZE)[name]
    assert len(text) == SIZE
    for render in (final, progress):
        ok, ratio = within_ratio(render, text)
        assert ok, f"{render.__name__}({name}) took {ratio:.0f}× plain text"


@pytest.mark.parametrize("name", list(adversarial(1)))
def test_the_converter_itself_is_linear(name: str) -> None:
    """The converter on the most the renderer ever gives it (the final message's window)."""
    ok, ratio = within_ratio(markdown_to_mrkdwn, adversarial(CONVERTER_SIZE)[name])
    assert ok, f"markdown_to_mrkdwn({name}) took {ratio:.0f}× plain text"
