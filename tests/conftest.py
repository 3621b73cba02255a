"""Fixtures shared by the end-to-end tests of the bot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import Stack
from tests.procs import ServerProcess, running


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A Slack emulator with strict rate limits and a Handinger emulator, per test module."""
    handinger_args = ["--port", "0", "--turn-seconds", "2.5", "--chunks", "25"]
    slack_args = ["--port", "0", "--rate-limits", "strict"]
    with (
        running("emulators.handinger", handinger_args) as handinger,
        running("emulators.slack", slack_args) as slack,
    ):
        yield slack, handinger


@pytest.fixture
def idle_stack(emulators: tuple[ServerProcess, ServerProcess], tmp_path: Path) -> Iterator[Stack]:
    """Fresh emulator state and no bot yet: the test starts the bot the way it needs."""
    slack, handinger = emulators
    stack = Stack(slack, handinger, tmp_path)
    stack.slack.post("/_emulator/reset").raise_for_status()
    stack.slack.post("/_emulator/config", json={"request_url": None}).raise_for_status()
    stack.handinger.post("/_emulator/reset").raise_for_status()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(idle_stack: Stack) -> Stack:
    """Fresh emulators and a bot in Socket Mode with a fresh database."""
    idle_stack.start_bot()
    return idle_stack
