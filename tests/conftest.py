"""Fixtures shared by the end-to-end tests of the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e import Stack
from tests.postgres import Cluster, ServerMissing
from tests.procs import ServerProcess, running
from tests.stores import Backend


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A Slack emulator with strict rate limits and a Handinger emulator, per test module."""
    handinger_args = ["--port", "0", "--turn-seconds", "2.5", "--chunks", "25"]
    slack_args = ["--port", "0", "--rate-limits", "strict"]
    with (
        running("bot.sandbox.handinger", handinger_args) as handinger,
        running("bot.sandbox.slack", slack_args) as slack,
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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the whole session (tests/postgres.py). Missing
    server binaries fail the tests that need it: `make test` installs them."""
    try:
        cluster = Cluster()
    except ServerMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(pg_cluster: Cluster) -> str:
    """The URL of a new, empty database of its own for this test."""
    return pg_cluster.database()


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The store's database on each engine in turn (tests/stores.py)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    chosen = Backend(request.param, tmp_path / "state" / "app.db", url)
    try:
        yield chosen
    finally:
        await chosen.close()
