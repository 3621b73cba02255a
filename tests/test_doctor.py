"""`handinger-slack doctor` against the Slack and Handinger emulators, running as processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.doctor.check import what
from bot.doctor.database import check_database
from bot.doctor.postgres import check_postgres
from bot.doctor.slack import check_scopes
from bot.slack.scopes import required_scopes
from bot.store import MIGRATIONS, Store, open_store
from emulators.credentials import BOT_TOKEN, HANDINGER_KEY
from emulators.harness import Emulators, free_port
from emulators.postgres import restricted_user
from tests.doctor_helpers import Doctor, installed_env


@pytest.fixture
def env(emulators: Emulators, tmp_path: Path) -> dict[str, str]:
    return installed_env(emulators, tmp_path)


def doctor_process(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real entry point, `python -m bot doctor`, as a process with only `env` set."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_everything_passes_with_a_good_configuration(tmp_path: Path, env: dict[str, str]) -> None:
    """The real entry point, as a process: exit status 0 and one line per check."""
    result = doctor_process(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "✓ configuration: Socket Mode, every required setting is present"
    assert lines[1].startswith("✓ Slack bot token: auth.test ok: bot user U0BOT (bot B0001)")
    assert lines[2].startswith("✓ Slack scopes: all ")  # the emulator grants the manifest's
    assert lines[3].startswith("✓ Socket Mode: apps.connections.open returned a websocket URL")
    assert lines[4].startswith("✓ Handinger key: accepted by http://127.0.0.1:")
    assert lines[5].startswith("✓ database: ") and "does not exist yet" in lines[5]
    assert lines[6] == "All checks passed."
    assert len(lines) == 7
    assert HANDINGER_KEY not in result.stdout and BOT_TOKEN not in result.stdout
    assert not Path(env["HANDINGER_DB"]).parent.exists()  # a check creates nothing


def test_doctor_in_an_empty_directory_leaves_it_empty(tmp_path: Path, env: dict[str, str]) -> None:
    """With the default `HANDINGER_DB` (a file in the working directory), as a new user runs it."""
    del env["HANDINGER_DB"]
    result = doctor_process(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "✓ database: handinger-slack.db does not exist yet; the app creates it when it first starts"
        in result.stdout.splitlines()
    )
    assert list(tmp_path.iterdir()) == []


def test_http_mode_needs_no_app_token(env: dict[str, str], run_doctor: Doctor) -> None:
    env.update(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET="s3cr3t-signing")
    status, lines = run_doctor(env)
    assert status == 0
    assert lines["configuration"].startswith("✓ configuration: HTTP mode")
    assert lines["Socket Mode"].startswith("– Socket Mode: not used")


def test_a_wrong_handinger_key_fails_clearly(env: dict[str, str], run_doctor: Doctor) -> None:
    env["HANDINGER_API_KEY"] = "hdg_wrong_key"
    status, lines = run_doctor(env)
    assert status == 1
    assert lines["Handinger key"].startswith("✗ Handinger key: rejected by http://127.0.0.1:")
    assert "(HTTP 401)" in lines["Handinger key"] and "HANDINGER_API_KEY" in lines["Handinger key"]
    assert lines["Slack bot token"].startswith("✓")
    assert lines["summary"] == "1 check failed."
    assert "hdg_wrong_key" not in "\n".join(lines.values())


def test_a_wrong_bot_token_fails_clearly(env: dict[str, str], run_doctor: Doctor) -> None:
    env["SLACK_BOT_TOKEN"] = "xoxb-not-the-right-one"
    status, lines = run_doctor(env)
    assert status == 1
    line = lines["Slack bot token"]
    assert line.startswith("✗ Slack bot token: auth.test failed: invalid_auth — SLACK_BOT_TOKEN")
    assert "Slack scopes" not in lines  # nothing to compare without a working token
    assert lines["Handinger key"].startswith("✓") and lines["Socket Mode"].startswith("✓")
    assert "not-the-right-one" not in "\n".join(lines.values())


def test_a_wrong_app_token_fails_the_socket_mode_check(
    env: dict[str, str], run_doctor: Doctor
) -> None:
    env["SLACK_APP_TOKEN"] = "xapp-1-wrong"
    status, lines = run_doctor(env)
    assert status == 1
    assert lines["Socket Mode"].startswith(
        "✗ Socket Mode: apps.connections.open failed: invalid_auth"
    )
    assert "connections:write" in lines["Socket Mode"]


def test_an_unwritable_database_path_fails(
    env: dict[str, str], tmp_path: Path, run_doctor: Doctor
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    env["HANDINGER_DB"] = str(blocker / "handinger-slack.db")
    status, lines = run_doctor(env)
    assert status == 1
    assert lines["database"] == (
        f"✗ database: cannot create {blocker}/handinger-slack.db: {blocker} is not a directory"
        " — HANDINGER_DB must be a file in a writable directory (in Docker: the /data volume)"
    )


def test_incomplete_and_invalid_configuration(env: dict[str, str], run_doctor: Doctor) -> None:
    status, lines = run_doctor({**env, "HANDINGER_API_KEY": ""})
    assert status == 1
    assert "✗ configuration: Socket Mode; missing HANDINGER_API_KEY" in lines["configuration"]
    assert lines["Handinger key"] == "– Handinger key: skipped: HANDINGER_API_KEY is not set"

    status, lines = run_doctor({**env, "SLACK_BOT_TOKEN": "xoxp-user"})
    assert status == 1
    assert lines["configuration"].startswith("✗ configuration: invalid — SLACK_BOT_TOKEN: must")

    status, lines = run_doctor({})
    assert status == 1 and "no credentials are configured" in lines["configuration"]


def test_an_unreachable_slack_api_fails(env: dict[str, str], run_doctor: Doctor) -> None:
    env["SLACK_API_URL"] = "http://127.0.0.1:9/api/"  # discard port: nothing listens
    status, lines = run_doctor(env)
    assert status == 1
    assert lines["Slack bot token"].startswith("✗ Slack bot token: cannot reach http://127.0.0.1:9")


# ---- scopes, as the Slack emulator reports them once a workspace has granted some -------------


def grant(emulators: Emulators, scopes: list[str]) -> None:
    slack, _ = emulators
    httpx.post(f"{slack.url}/_emulator/scopes", json={"scopes": scopes}).raise_for_status()


def test_granted_scopes_are_compared_with_what_the_code_needs(
    emulators: Emulators, env: dict[str, str], run_doctor: Doctor
) -> None:
    needed = list(required_scopes())
    try:
        grant(emulators, [s for s in needed if s != "users:read"])
        status, lines = run_doctor(env)
        assert status == 1
        line = lines["Slack scopes"]
        assert line.startswith("✗ Slack scopes: missing users:read")
        assert lines["summary"] == "1 check failed."
        grant(emulators, needed)
        status, lines = run_doctor(env)
        assert status == 0 and lines["Slack scopes"].startswith("✓ Slack scopes")
    finally:
        grant(emulators, [])  # back to reporting none, as the other tests expect


def test_scope_comparison() -> None:
    required = ("chat:write", "commands")
    assert check_scopes("chat:write, commands", required).status == "ok"
    extra = check_scopes("chat:write,commands,users:read", required)
    assert extra.status == "ok" and "unused: users:read" in extra.detail
    assert check_scopes("commands", required).detail == "missing chat:write"
    assert check_scopes(None, required).status == "warn"


# ---- the database ------------------------------------------------------------------------------


async def test_database_states(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    assert check_database(path).detail.endswith(
        "does not exist yet; the app creates it when it first starts"
    )
    assert list(tmp_path.iterdir()) == []

    await Store(path).close()
    before = sorted(tmp_path.iterdir())
    current = check_database(path)
    assert current.status == "ok"
    assert current.detail.endswith(f"schema version {len(MIGRATIONS)} (current)")
    assert sorted(tmp_path.iterdir()) == before  # no -wal or -shm files left beside it

    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = ?", [len(MIGRATIONS) + 1])
    connection.close()
    newer = check_database(path)
    assert newer.status == "fail" and "newer than this release" in newer.detail

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER)")
        connection.execute("INSERT INTO schema_version VALUES (0)")
    connection.close()
    found = check_database(old)
    assert found.detail.endswith(
        f"schema version 0; the app migrates it to {len(MIGRATIONS)} when it starts"
    )
    with sqlite3.connect(old) as connection:  # and it was not migrated
        assert connection.execute("SELECT version FROM schema_version").fetchone() == (0,)
    connection.close()

    junk = tmp_path / "junk.db"
    junk.write_text("not a database " * 100)
    unreadable = check_database(junk)
    assert unreadable.status == "fail" and unreadable.detail.startswith(f"cannot read {junk}")

    directory = tmp_path / "a-directory"
    directory.mkdir()
    assert check_database(directory).status == "fail"
    nested = directory / "more" / "app.db"
    assert check_database(nested).status == "ok" and not (directory / "more").exists()


def with_password(url: str, password: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")


async def test_database_url_states(
    tmp_path: Path, env: dict[str, str], postgres_url: str, run_doctor: Doctor
) -> None:
    """DATABASE_URL: reachable or not, its server version, its schema; never its password."""
    env["DATABASE_URL"] = with_password(postgres_url, "pw-s3cret")

    def database_line() -> tuple[int, str]:
        status, lines = run_doctor(env)
        assert "pw-s3cret" not in "\n".join(lines.values())
        return status, lines["database"]

    status, line = await asyncio.to_thread(database_line)
    name = postgres_url.rsplit("/", 1)[1]
    assert status == 0 and line.startswith(f"✓ database: PostgreSQL database {name} on 127.0.0.1:")
    assert "(PostgreSQL 1" in line and "no tables yet; the app creates them" in line

    store = await open_store(postgres_url, tmp_path / "unused.db")
    status, line = await asyncio.to_thread(database_line)
    assert status == 0 and line.endswith(f"schema version {len(MIGRATIONS)} (current)")
    await store.db.execute("UPDATE schema_version SET version = 99")
    await store.close()
    status, line = await asyncio.to_thread(database_line)
    assert status == 1 and "schema version 99, newer than this release knows" in line

    env["DATABASE_URL"] = with_password(
        postgres_url.rsplit(":", 1)[0] + f":{free_port()}/x", "pw-s3cret"
    )
    status, line = await asyncio.to_thread(database_line)
    assert status == 1 and line.startswith("✗ database: cannot use the PostgreSQL database x on")
    assert "check DATABASE_URL" in line
    assert not Path(env["HANDINGER_DB"]).parent.exists()  # no SQLite file was made instead


async def test_database_url_whose_user_may_not_create_tables(
    tmp_path: Path, postgres_url: str
) -> None:
    """Since PostgreSQL 15 only a database's owner may create tables in schema public: a user
    that is not cannot have its tables made or migrated, which the doctor says before the app
    fails to start; once they are made, reading and writing them is all the app needs."""
    empty = await check_postgres(restricted_user(postgres_url, may_create=False))
    assert empty.status == "fail", empty
    assert "may not create tables in schema public" in empty.detail
    assert "the app cannot create its tables" in empty.detail
    assert "GRANT CREATE ON SCHEMA public TO app_" in empty.hint
    allowed = await check_postgres(restricted_user(postgres_url, may_create=True))
    assert allowed.status == "ok" and "no tables yet" in allowed.detail

    store = await open_store(postgres_url, tmp_path / "unused.db")  # migrated by its owner
    await store.close()
    migrated = await check_postgres(restricted_user(postgres_url, may_create=False))
    assert migrated.status == "ok" and migrated.detail.endswith("(current)"), migrated


def test_an_error_is_told_on_one_line() -> None:
    """libpq's messages span lines (`… Connection refused\n\tIs the server running …`)."""
    error = OSError("connection failed: refused\n\tIs the server running on that host?")
    assert what(error) == "OSError: connection failed: refused Is the server running on that host?"
