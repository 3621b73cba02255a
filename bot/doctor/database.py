"""The doctor's database check: can the file be opened, migrated and written?"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..store import MIGRATIONS, Store
from .check import Check, what


def check_database(path: Path) -> Check:
    """Open (creating if needed), migrate, and prove the file writable with a no-op write."""
    name = "database"
    latest = len(MIGRATIONS)
    existed = path.exists()
    try:
        before = _schema_version(path) if existed else 0
        store = Store(path)
    except (OSError, sqlite3.Error) as exc:
        return Check(
            name,
            "fail",
            f"cannot open {path}: {what(exc)}",
            "HANDINGER_DB must be a file in a writable directory (in Docker: the /data volume)",
        )
    try:
        version = store.schema_version
        if version > latest:
            return Check(
                name,
                "fail",
                f"{path} has schema version {version}, newer than this release knows ({latest})",
                "run the release that created it, or restore a backup from before the upgrade",
            )
        with store.transaction():
            store.db.execute("CREATE TABLE _doctor_probe (x INTEGER)")
            store.db.execute("DROP TABLE _doctor_probe")
    except sqlite3.Error as exc:
        return Check(
            name,
            "fail",
            f"{path} is not writable: {what(exc)}",
            "give the app's user write access to the file and its directory",
        )
    finally:
        store.close()
    if not existed:
        state = f"created at schema version {version}"
    elif before < version:
        state = f"migrated from schema version {before} to {version}"
    else:
        state = f"schema version {version} (current)"
    return Check(name, "ok", f"{path} is writable, {state}")


def _schema_version(path: Path) -> int:
    """The version recorded in an existing database, read without changing it."""
    connection = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        connection.close()
    return int(row[0]) if row else 0
