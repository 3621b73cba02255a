"""Answers whose mrkdwn shows nothing: every card still sends only sections with something to see.

Slack refuses a section whose text is empty (`invalid_blocks`), and one of spaces or zero-width
characters is an empty-looking box. A run of `*` or `-` is a rule, `[]()` is nothing, and the end
of a long answer can be markup only, so the renderers must never trust the converter's output to
be visible.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.views import DigestHeading, RunState, RunView
from bot.slack.blocks import SlackMessage
from bot.slack.render import render_final, render_progress
from emulators.slack.validate import check_blocks

INVISIBLE = " \t\n\r\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff\u202e\u200e*_~"
"""What shows nothing in a mrkdwn text: spaces, zero-width and direction marks, and emphasis
markers around them (an independent list, not the renderer's own test)."""
LONG = "The quick brown fox jumps over the lazy dog. " * 600
"""About 27,000 visible characters: a card and at least one continuation."""

BLANK = {
    "stars": "*" * 5000,
    "three stars": "***",
    "dashes": "---",
    "empty link": "[]()",
    "empty image": "![]()",
    "whitespace": " \n\t \n\n  ",
    "zero-width": "\u200b\u200c\u200d\u2060\ufeff",
    "bold zero-width": "**\u200b**",
    "bare heading": "#",
    "bare quote": ">",
    "long quote markers": "x\n\n" + ">" * 40_000,
    "long zero-width": "\u200b" * 100_000,
    "visible then long zero-width": "a few words\n\n" + "\u200b" * 20_000,
}
NO_TEXT = {"empty link", "empty image", "whitespace", "zero-width", "bold zero-width"}
NO_TEXT |= {"bare heading", "bare quote"}
"""The short answers with nothing at all to show (a run of `*` or `-` is a rule, which shows;
a longer blank answer is attached as a file instead)."""
CASES = [pytest.param(text, id=name) for name, text in BLANK.items()]


def view(text: str, state: RunState, **changes: Any) -> RunView:
    fields: dict[str, Any] = {
        "run_id": 7,
        "state": state,
        "requester": "U0REAL",
        "instruction": "do it",
        "text": text,
        "worker_id": "wrk_1",
    }
    fields.update(changes)
    return RunView(**fields)


def shown(message: SlackMessage, what: str) -> list[str]:
    """Check Slack takes the message and every text in it shows something; return the texts."""
    check_blocks(message.blocks)
    texts: list[str] = []
    for block in message.blocks:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [element["text"] for element in block["elements"]]
    for text in texts:
        assert text.strip(INVISIBLE), f"{what}: a block shows nothing: {text[:40]!r}"
    return texts


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("state", ["queued", "working", "completed", "failed"])
def test_a_progress_card_never_sends_an_empty_section(text: str, state: RunState) -> None:
    texts = shown(render_progress(view(text, state)), "progress")
    if state == "working":  # the card says something of the answer below its status line
        assert not texts[-1].startswith(":hourglass_flowing_sand:"), texts


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("state", ["completed", "failed"])
def test_a_final_card_never_sends_an_empty_section(text: str, state: RunState) -> None:
    final = render_final(view(text, state))
    texts = shown(final.card, "final card")
    assert not final.continuations
    if state == "completed" and text in (BLANK[name] for name in NO_TEXT):
        assert "_The worker finished without a text answer._" in texts


@pytest.mark.parametrize("text", CASES)
def test_continuations_never_carry_an_empty_section(text: str) -> None:
    """Blank stretches between long visible ones: the card and every reply show text."""
    final = render_final(view(f"{LONG}\n\n{text}\n\n{LONG}\n\n{text}", "completed"))
    assert final.continuations
    for number, message in enumerate([final.card, *final.continuations]):
        shown(message, f"message {number}")


@pytest.mark.parametrize("text", CASES)
def test_a_digest_never_sends_an_empty_section(text: str) -> None:
    heading = DigestHeading("every 1d", late=False)
    final = render_final(view(text, "completed", digest=heading, instruction="summarise"))
    for number, message in enumerate([final.card, *final.continuations]):
        shown(message, f"digest message {number}")


def test_the_end_of_a_long_blank_answer_is_said_not_sent() -> None:
    """The shape fuzz seed 25 found: a long answer that ends in markup only."""
    texts = shown(render_progress(view("x\n\n" + ">" * 40_000, "working")), "progress")
    assert any("(40,003 characters) has no text to show" in text for text in texts)


def test_a_blank_instruction_and_answer_are_not_quoted_nor_notified() -> None:
    """The instruction's quote and the notification text follow the same rule as sections."""
    card = render_progress(view("\u200b\u200d", "completed", instruction="\u200b\ufeff"))
    shown(card, "progress")
    assert card.text == "✅ Done"
    assert not any(block["type"] == "section" for block in card.blocks)
