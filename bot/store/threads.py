"""Queries of a Slack thread's state: the worker it belongs to, who it answers (its reply
mode) and the files uploaded into it."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from .records import Thread


class ThreadQueries:
    """The `threads` and `uploads` tables, for `Store`, which opens `db` and sets `_clock`."""

    db: sqlite_utils.Database
    _clock: Callable[[], float]

    async def link_thread(
        self, team_id: str, channel_id: str, thread_ts: str, worker_id: str, user_id: str
    ) -> None:
        self.db.table("threads").insert(
            {
                "team_id": team_id,
                "channel_id": channel_id,
                "thread_ts": thread_ts,
                "worker_id": worker_id,
                "user_id": user_id,
                "created_at": self._clock(),
            },
            replace=True,
        )

    async def find_thread(self, team_id: str, channel_id: str, thread_ts: str) -> Thread | None:
        rows = list(
            self.db.query(
                "SELECT * FROM threads WHERE team_id = ? AND channel_id = ? AND thread_ts = ?",
                [team_id, channel_id, thread_ts],
            )
        )
        return Thread(**rows[0]) if rows else None

    async def reply_mode(self, team_id: str, channel_id: str, thread_ts: str) -> str | None:
        """The reply mode someone set for a thread; None: the workspace default applies."""
        row = self.db.execute(
            "SELECT mode FROM reply_modes WHERE team_id = ? AND channel_id = ? AND thread_ts = ?",
            [team_id, channel_id, thread_ts],
        ).fetchone()
        return str(row[0]) if row else None

    async def set_reply_mode(
        self, team_id: str, channel_id: str, thread_ts: str, mode: str, user_id: str
    ) -> None:
        self.db.table("reply_modes").insert(
            {
                "team_id": team_id,
                "channel_id": channel_id,
                "thread_ts": thread_ts,
                "mode": mode,
                "set_by": user_id,
                "set_at": self._clock(),
            },
            replace=True,
        )

    async def uploaded_paths(
        self, team_id: str, channel_id: str, thread_ts: str
    ) -> dict[str, set[str]]:
        """Every file path uploaded into a thread, with the content hashes uploaded for it."""
        rows = self.db.execute(
            "SELECT path, sha256 FROM uploads WHERE team_id = ? AND channel_id = ? "
            "AND thread_ts = ?",
            [team_id, channel_id, thread_ts],
        ).fetchall()
        found: dict[str, set[str]] = {}
        for path, digest in rows:
            found.setdefault(path, set()).add(digest)
        return found

    async def record_upload(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        path: str,
        sha256: str,
        size: int,
        worker_id: str,
        run_id: int,
        slack_file_id: str | None,
    ) -> None:
        self.db.table("uploads").insert(
            {
                "team_id": team_id,
                "channel_id": channel_id,
                "thread_ts": thread_ts,
                "path": path,
                "sha256": sha256,
                "size": size,
                "worker_id": worker_id,
                "run_id": run_id,
                "slack_file_id": slack_file_id,
                "uploaded_at": self._clock(),
            },
            replace=True,
        )
