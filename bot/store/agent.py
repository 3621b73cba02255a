"""Queries of Slack's agent surfaces: assistant threads, answer feedback, and the App Home's
lists (a user's workers and schedules across channels)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import sqlite_utils

from .records import Run, Schedule

Vote = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class AssistantThread:
    """A thread of the assistant pane: who opened it, and the channel they were looking at."""

    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str
    context_channel_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Feedback:
    """One person's vote on one run's answer; a second click replaces it."""

    run_id: int
    user_id: str
    vote: Vote
    at: float


class AgentQueries:
    """The `assistant_threads` and `feedback` tables, for `Store` (which sets `db`, `_clock`,
    `_runs` and `_schedules`)."""

    db: sqlite_utils.Database
    _clock: Callable[[], float]
    _runs: Callable[[str, list[Any]], list[Run]]
    _schedules: Callable[[str, list[Any]], list[Schedule]]

    async def add_assistant_thread(
        self,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        context_channel_id: str | None,
    ) -> None:
        self.db.table("assistant_threads").insert(
            {
                "team_id": team_id,
                "channel_id": channel_id,
                "thread_ts": thread_ts,
                "user_id": user_id,
                "context_channel_id": context_channel_id,
                "created_at": self._clock(),
            },
            replace=True,
        )

    async def set_assistant_context(
        self, team_id: str, channel_id: str, thread_ts: str, context_channel_id: str | None
    ) -> bool:
        """Record the channel the user now looks at; False if the thread is unknown."""
        cursor = self.db.execute(
            "UPDATE assistant_threads SET context_channel_id = ? "
            "WHERE team_id = ? AND channel_id = ? AND thread_ts = ?",
            [context_channel_id, team_id, channel_id, thread_ts],
        )
        return bool(cursor.rowcount)

    async def find_assistant_thread(
        self, team_id: str, channel_id: str, thread_ts: str
    ) -> AssistantThread | None:
        rows = list(
            self.db.query(
                "SELECT * FROM assistant_threads "
                "WHERE team_id = ? AND channel_id = ? AND thread_ts = ?",
                [team_id, channel_id, thread_ts],
            )
        )
        return AssistantThread(**rows[0]) if rows else None

    async def record_feedback(self, run_id: int, user_id: str, vote: Vote) -> Feedback:
        at = self._clock()
        self.db.table("feedback").insert(
            {"run_id": run_id, "user_id": user_id, "vote": vote, "at": at}, replace=True
        )
        return Feedback(run_id, user_id, vote, at)

    async def feedback_of(self, run_id: int, user_id: str) -> Feedback | None:
        rows = list(
            self.db.query(
                "SELECT * FROM feedback WHERE run_id = ? AND user_id = ?", [run_id, user_id]
            )
        )
        return Feedback(**rows[0]) if rows else None

    async def worker_feedback(self, worker_ids: list[str]) -> dict[str, tuple[int, int]]:
        """For each worker with feedback on any of its runs' answers: (👍, 👎)."""
        if not worker_ids:
            return {}
        marks = ", ".join("?" for _ in worker_ids)
        rows = self.db.execute(
            "SELECT r.worker_id, SUM(f.vote = 'up'), SUM(f.vote = 'down') FROM feedback f "
            f"JOIN runs r ON r.id = f.run_id WHERE r.worker_id IN ({marks}) "
            "GROUP BY r.worker_id",
            worker_ids,
        ).fetchall()
        return {str(worker): (int(up), int(down)) for worker, up, down in rows}

    async def user_workers(self, team_id: str, user_id: str, limit: int = 10) -> list[Run]:
        """The runs that started the user's workers anywhere in the workspace, newest first."""
        return self._runs(
            "team_id = ? AND user_id = ? AND kind = 'new' ORDER BY id DESC LIMIT ?",
            [team_id, user_id, limit],
        )

    async def user_schedules(self, team_id: str, user_id: str) -> list[Schedule]:
        """The active schedules the user created in the workspace."""
        return self._schedules(
            "team_id = ? AND creator_id = ? AND status = 'active' ORDER BY created_at",
            [team_id, user_id],
        )
