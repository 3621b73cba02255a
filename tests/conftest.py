"""Fixtures shared by the tests: the emulators as processes, and a stack with the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from bot.handinger import HandingerClient
from emulators.credentials import HANDINGER_KEY
from emulators.harness import HANDINGER, Child, Emulators, running, start_emulators
from emulators.postgres import Cluster, ServerMissing
from tests.doctor_helpers import Doctor, doctor
from tests.e2e import Stack
from tests.handinger_helpers import RecordingSleep
from tests.stores import Backend


@pytest.fixture(scope="module")
def emulators() -> Iterator[Emulators]:
    """A Slack emulator with strict rate limits and a Handinger emulator, per test module."""
    handinger_args = ["--turn-seconds", "2.5", "--chunks", "25"]
    with start_emulators(["--rate-limits", "strict"], handinger_args) as both:
        yield both


@pytest.fixture
def idle_stack(emulators: Emulators, tmp_path: Path) -> Iterator[Stack]:
    """Fresh emulator state and no bot yet: the test starts the bot the way it needs."""
    with Stack(*emulators, tmp_path).fresh() as stack:
        yield stack


@pytest.fixture
def stack(idle_stack: Stack) -> Stack:
    """Fresh emulators and a bot in Socket Mode with a fresh database."""
    idle_stack.start_bot()
    return idle_stack


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_stack(request: pytest.FixtureRequest, idle_stack: Stack) -> Stack:
    """The idle stack, with the bots' database in a SQLite file or in PostgreSQL, in turn."""
    if request.param == "postgresql":
        idle_stack.database_url = request.getfixturevalue("postgres_url")
    return idle_stack


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """Processes a test starts itself (bots beside the stack's own, replicas): the test adds
    each here, and each is stopped at the end."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in started:
            child.stop()


@pytest.fixture
def replicas(idle_stack: Stack, postgres_url: str, children: list[Child]) -> list[Child]:
    """Bot processes sharing one PostgreSQL database, as replicas do: the test starts them
    (with `idle_stack.bot_env()`) and adds each here, and each is stopped at the end."""
    idle_stack.database_url = postgres_url
    return children


@pytest.fixture
def run_doctor(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Doctor:
    """`handinger-slack doctor` run in-process with an environment: its status and lines."""
    return partial(doctor, monkeypatch=monkeypatch, capsys=capsys, tmp_path=tmp_path)


# ---- the Handinger emulator alone, for the client and the runner ---------------------------

HANDINGER_ARGS = ["--turn-seconds", "0.3", "--chunks", "6"]
"""How fast the Handinger emulator's turns are unless a test module sets `HANDINGER_ARGS`."""


@pytest.fixture(scope="module")
def handinger_emulator(request: pytest.FixtureRequest) -> Iterator[Child]:
    """A Handinger emulator per test module, tuned by the module's `HANDINGER_ARGS` if it has
    them (pytest's documented way for a fixture to read the module that requests it)."""
    args = getattr(request.module, "HANDINGER_ARGS", HANDINGER_ARGS)
    with running(HANDINGER, ["--port", "0", *args]) as server:
        yield server


@pytest.fixture
def handinger_control(handinger_emulator: Child) -> Iterator[httpx.Client]:
    """The emulator's control API, everything reset to the start state."""
    with httpx.Client(base_url=handinger_emulator.url, timeout=15) as http:
        http.post("/_emulator/reset").raise_for_status()
        yield http


@pytest.fixture
def handinger_api(handinger_emulator: Child) -> Iterator[httpx.Client]:
    """The emulator's API with the key (and its control API), reset to the start state."""
    auth = {"Authorization": f"Bearer {HANDINGER_KEY}"}
    with httpx.Client(base_url=handinger_emulator.url, headers=auth, timeout=15.0) as client:
        assert client.post("/_emulator/reset").status_code == 200
        yield client


@pytest.fixture
async def handinger(
    handinger_emulator: Child, handinger_control: httpx.Client
) -> AsyncIterator[HandingerClient]:
    """The app's client of the freshly reset emulator."""
    async with HandingerClient(HANDINGER_KEY, handinger_emulator.url) as client:
        yield client


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def handinger_client(
    handinger_emulator: Child, handinger_control: httpx.Client, sleeps: RecordingSleep
) -> AsyncIterator[HandingerClient]:
    """The client as the client tests drive it: two retries whose delays `sleeps` records
    instead of waiting, and a stalled stream given up after 5 s."""
    async with HandingerClient(
        HANDINGER_KEY,
        handinger_emulator.url,
        stream_idle_timeout=5.0,
        sleep=sleeps,
        max_retries=2,
    ) as client:
        yield client


# ---- PostgreSQL: one throwaway server per session, a database per test ----------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the whole session (emulators/postgres.py). Missing
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
