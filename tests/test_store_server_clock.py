"""On PostgreSQL, leases and Slack's shared allowances keep the server's time, not each host's:
replicas whose clocks disagree by an hour still agree on who holds a lease and on what is in
a window. (SQLite is one host: the process's clock; tests inject a clock on both engines.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.store import Store, open_store
from bot.store.rates import CallTerms


async def skewed_store(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store opened by a process whose host clock is an hour behind."""
    real = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real() - 3600)
        store = await open_store(url, tmp_path / "unused.db")
    assert store._clock() < real() - 3000  # the store would read the skewed clock
    return store


async def test_a_host_an_hour_behind_does_not_lose_its_lease(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    behind = await skewed_store(postgres_url, tmp_path, monkeypatch)
    other = await open_store(postgres_url, tmp_path / "unused.db")
    try:
        assert await behind.take_lease("run:1", "A", 30)
        assert not await other.take_lease("run:1", "B", 30)  # A's for 30 s of the server's time
        assert await other.lease_owner("run:1") == "A"
        assert [run.id for run in (await other.takeover_scan()).active] == []
        assert await behind.renew_leases("A", 30) == {"run:1"}
    finally:
        await behind.close()
        await other.close()


async def test_a_host_an_hour_behind_counts_in_the_same_window(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    behind = await skewed_store(postgres_url, tmp_path, monkeypatch)
    other = await open_store(postgres_url, tmp_path / "unused.db")
    try:
        for _ in range(2):
            assert await behind.take_call("update:T1", "A", CallTerms(2, 60)) == 0.0
        assert 50 < await other.take_call("update:T1", "B", CallTerms(2, 60)) <= 60
        await behind.pause_scope("update:T2", 30)
        assert 20 < await other.take_call("update:T2", "B", CallTerms(2, 60)) <= 30
    finally:
        await behind.close()
        await other.close()


async def test_a_request_written_by_a_host_an_hour_behind_is_not_taken_over_early(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox's expiries keep the server's time too: a request acked by a process whose
    clock is behind is not handled a second time by a process whose clock is right."""
    behind = await skewed_store(postgres_url, tmp_path, monkeypatch)
    other = await open_store(postgres_url, tmp_path / "unused.db")
    try:
        assert await behind.receive_request("command:t1", "command", {"x": 1}, "A", 30)
        assert await behind.renew_requests("A", 30) == 1
        assert await other.take_orphan_requests("B", 30) == []
        await behind.release_requests("A")
        assert [r.key for r in await other.take_orphan_requests("B", 30)] == ["command:t1"]
    finally:
        await behind.close()
        await other.close()
