"""The refusal log: one line at the first refusal, then at most one summary per window."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from bot.slack.refusals import Refusals

LOGGER = "test.refusals"


def make(timers: list[Callable[[], None]]) -> Refusals:
    return Refusals(
        logging.getLogger(LOGGER),
        "/slack/events",
        window=60,
        schedule=lambda delay, callback: timers.append(callback),
    )


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_flood_gives_one_line_then_one_summary_per_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    timers: list[Callable[[], None]] = []
    refusals = make(timers)
    for _ in range(60):
        refusals.refused("unsigned (401)")
    for _ in range(40):
        refusals.refused("malformed body (400)")
    assert len(lines(caplog)) == 1
    assert "unsigned (401)" in lines(caplog)[0]

    timers.pop()()  # the window ends: one summary of the 99 that followed
    assert len(lines(caplog)) == 2
    assert lines(caplog)[1] == (
        "refused 99 more request(s) to /slack/events in the last 60 s: "
        "59 unsigned (401), 40 malformed body (400)"
    )
    refusals.refused("unsigned (401)")
    assert len(lines(caplog)) == 2  # still counted, within the new window

    timers.pop()()  # that window ends: its one refusal is summarised
    assert len(lines(caplog)) == 3
    timers.pop()()  # a quiet window ends: nothing to say, and no window is open any more
    assert len(lines(caplog)) == 3
    assert not timers
    refusals.refused("bad signature (401)")
    assert len(lines(caplog)) == 4
    assert refusals.total == 102
