"""The doctor's database check: what is at `HANDINGER_DB`, and can the app use it?

A check changes nothing: the file is read, never created or migrated (the app does both when it
starts). A missing file is fine when its directory can be created or written; an existing one
is read without locking files (`immutable`) unless the app has it open, and must be a database
of this release's schema or older, in a writable place.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..store import MIGRATIONS
from .check import Check, what

NAME = "database"
_HINT = "HANDINGER_DB must be a file in a writable directory (in Docker: the /data volume)"


def check_database(path: Path) -> Check:
    """Say what is at `path` and whether the app can open, migrate and write it there."""
    if str(path) == ":memory:":
        return Check(NAME, "ok", "in memory (:memory:): nothing is kept when the app stops")
    if path.is_dir():
        return Check(NAME, "fail", f"{path} is a directory, not a database file", _HINT)
    if not path.exists():
        return _missing(path)
    latest = len(MIGRATIONS)
    try:
        version = _schema_version(path)
    except sqlite3.Error as exc:
        return Check(
            NAME,
            "fail",
            f"cannot read {path}: {what(exc)}",
            "HANDINGER_DB must be the app's SQLite file: point it elsewhere, or restore a backup",
        )
    if version > latest:
        return Check(
            NAME,
            "fail",
            f"{path} has schema version {version}, newer than this release knows ({latest})",
            "run the release that created it, or restore a backup from before the upgrade",
        )
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        return Check(
            NAME,
            "fail",
            f"{path} is not writable (SQLite also writes beside it, in {path.parent})",
            "give the app's user write access to the file and its directory",
        )
    if version < latest:
        state = f"schema version {version}; the app migrates it to {latest} when it starts"
    else:
        state = f"schema version {version} (current)"
    return Check(NAME, "ok", f"{path} is writable, {state}")


def _missing(path: Path) -> Check:
    """No file yet: fine if the app can create it (and the directories up to it) on first run."""
    existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        return Check(NAME, "fail", f"cannot create {path}: {existing} is not a directory", _HINT)
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check(NAME, "fail", f"cannot create {path}: {existing} is not writable", _HINT)
    return Check(NAME, "ok", f"{path} does not exist yet; the app creates it when it first starts")


def _schema_version(path: Path) -> int:
    """The version recorded in the file, read without writing anything beside it.

    A read-only SQLite connection still creates `-wal`/`-shm` files for a database in WAL mode;
    `immutable` does not, and is safe when no `-wal` file shows that the app has it open."""
    immutable = not Path(f"{path}-wal").exists()
    uri = path.resolve().as_uri() + ("?immutable=1" if immutable else "?mode=ro")
    connection = sqlite3.connect(uri, uri=True)
    try:
        row = connection.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        connection.close()
    return int(row[0]) if row else 0
