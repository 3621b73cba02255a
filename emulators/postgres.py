"""A throwaway PostgreSQL cluster for the tests and the benchmark: `initdb` into a temporary
directory, started with `pg_ctl` on a free loopback port, stopped and deleted at the end.

The server binaries come from `$PG_BIN`, else the newest Debian install
(/usr/lib/postgresql/N/bin), else `pg_config --bindir`. `initdb` refuses to run as root, so
as root the cluster belongs to the `postgres` user that Debian's package creates. Durability
is switched off (`fsync`, `synchronous_commit`, `full_page_writes`): the data dies with the
session anyway. Each test gets a database of its own, made with `CREATE DATABASE`.

With `count_statements` the server loads contrib's `pg_stat_statements` and counts utility
statements too (BEGIN, COMMIT): the benchmark's measure of the bot's database round trips,
taken on the server's side, whichever code the bot runs.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

MISSING = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found: install Debian's "
    "`postgresql` package (`apt-get install postgresql`; `make test` does it when it can), "
    "or set PG_BIN to the directory that holds them"
)


class ServerMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def server_binaries() -> Path:
    """The directory with `initdb` and `pg_ctl`; raises `ServerMissing` if there is none."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise ServerMissing(MISSING)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One running PostgreSQL server; `database()` makes a new, empty database on it."""

    def __init__(self, *, count_statements: bool = False) -> None:
        self.bin = server_binaries()
        self.count_statements = count_statements
        self.as_postgres = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="handinger-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._pg(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        self.start()
        if count_statements:
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION pg_stat_statements")

    def start(self) -> None:
        """Start the server (again, after `halt`) on the cluster's port."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        if self.count_statements:
            options += (
                " -c shared_preload_libraries=pg_stat_statements"
                " -c pg_stat_statements.track_utility=on -c pg_stat_statements.max=10000"
            )
        log = self.root / "server.log"
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server, by default as a crash would (durability is off: recent commits
        may be lost); `fast` is an orderly restart that keeps every commit. The data stays,
        for `start`."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def server_pid(self) -> int:
        """The postmaster's process id; its children are the server's backends."""
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; returns its URL."""
        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        try:
            self.halt()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _pg(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            server = log.read_text() if log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr or done.stdout}\n{server}"
            )


_roles = itertools.count(1)


def restricted_user(url: str, *, may_create: bool) -> str:
    """The URL of `url`'s database as a new login role that is not its owner, and may read
    and write the tables it holds now; it may create tables only if `may_create`. (PUBLIC's
    CREATE on schema public, the default before PostgreSQL 15, is revoked first.)"""
    role = f"app_{next(_roles)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        everything = "ALL TABLES IN SCHEMA public"
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {everything} TO {role}")
        conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        if may_create:
            conn.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
    return url.replace("postgresql://postgres@", f"postgresql://{role}@")
