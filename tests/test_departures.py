"""Workspaces the app left, followed by every process (both engines): one process forgets the
workspace, the others learn of it at their next beat and stop their work there."""

from __future__ import annotations

from bot.core.departures import Departures
from tests.stores import Backend


class Cleanup:
    def __init__(self) -> None:
        self.left: list[str] = []

    def left_elsewhere(self, team_id: str) -> int:
        self.left.append(team_id)
        return 0


async def test_every_process_learns_of_a_departure_once(backend: Backend) -> None:
    told, other = await backend.open(), await backend.open()
    await told.forget_workspace("T0", "uninstalled before this process started")
    cleanup = Cleanup()
    departures = Departures(other, cleanup)
    await departures.start()
    assert await departures.catch_up() == []  # left before it started: not its work

    await told.forget_workspace("T1", "The app was uninstalled from this workspace.")
    await told.forget_workspace("T2", "The bot token was revoked.")
    assert await departures.catch_up() == ["T1", "T2"]
    assert await departures.catch_up() == []
    assert cleanup.left == ["T1", "T2"]
