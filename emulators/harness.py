"""Start the emulators and the bot as child processes: the one launcher of tests, bench and the
sandbox.

Every server here is `python -m <module>` whose first stdout line is `listening on http://…`
(the emulators' and the bot's contract). A child's output is kept in memory (read by a thread,
so the pipe never fills) or, for long runs such as the benchmark's, written to a log file.
The app (`bot`) imports this module only when `handinger-slack sandbox` starts, never in
production.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from .credentials import (
    APP_TOKEN,
    BOT_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    HANDINGER_KEY,
    SIGNING_SECRET,
)

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: children run here unless told otherwise, so `python -m` finds the code."""
LISTENING = re.compile(r"listening on (http://\S+)")
HANDINGER = "emulators.handinger"
SLACK = "emulators.slack"


class Child:
    """A `python -m module args…` child process and everything it printed."""

    def __init__(
        self,
        module: str,
        args: Sequence[str] = (),
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log: Path | None = None,
        stdin: bool = False,
        inherit_stderr: bool = False,
    ) -> None:
        """`log`: write the output to this file instead of keeping it in memory.
        `inherit_stderr`: errors go to this process's stderr (the terminal) as they happen."""
        self.module = module
        self.args = list(args)
        self.name = name or module
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.cwd = cwd or ROOT
        self.log = log
        self.stdin = stdin
        self.inherit_stderr = inherit_stderr
        self.url = ""
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reading = False
        self._reader: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # ---- starting -------------------------------------------------------------------------

    def start(self) -> Child:
        """Launch the child; `listen` waits until it serves."""
        stderr = None if self.inherit_stderr else subprocess.STDOUT
        stdin = subprocess.PIPE if self.stdin else subprocess.DEVNULL
        command = [sys.executable, "-m", self.module, *self.args]
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("wb") as out:
                self._proc = subprocess.Popen(
                    command, cwd=self.cwd, env=self.env, stdin=stdin, stdout=out, stderr=stderr
                )
            return self
        self._proc = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=self.env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        self._reading = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            with self._changed:
                self._lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._reading = False
            self._changed.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        """Block until a line of output matches; the child is stopped if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            found = next(filter(None, map(pattern.search, self.output)), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or not self._may_say_more():
                break
            if self.log is None:
                with self._changed:
                    self._changed.wait(min(left, 1.0))
            else:
                time.sleep(min(left, 0.05))
        self.stop()
        tail = "\n".join(self.output[-50:])
        raise RuntimeError(f"{self.name} did not print {pattern.pattern!r}:\n{tail}")

    def _may_say_more(self) -> bool:
        if self.log is None:
            with self._changed:
                return self._reading
        return self.alive()

    def listen(self, timeout: float = 30.0) -> str:
        """Wait for `listening on URL`; returns the URL (0.0.0.0 made reachable)."""
        self.url = self.wait_for(LISTENING, timeout).group(1).replace("0.0.0.0", "127.0.0.1")
        return self.url

    # ---- looking --------------------------------------------------------------------------

    @property
    def output(self) -> list[str]:
        """Every line printed so far (stdout, and stderr unless inherited)."""
        if self.log is None:
            with self._changed:
                return list(self._lines)
        try:
            return self.log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self._proc is not None, f"{self.name} was not started"
        return self._proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ---- stopping -------------------------------------------------------------------------

    def kill(self) -> None:
        """SIGKILL: the crash case, no cleanup code runs."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._drained()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the child has not exited within `timeout` seconds."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._drained()

    def _drained(self) -> None:
        """Once the child has exited, `output` holds its last words too."""
        if self._reader is not None and not self.alive():
            self._reader.join(10)


def server(
    module: str,
    args: Sequence[str] = (),
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
    inherit_stderr: bool = False,
    startup_timeout: float = 30.0,
) -> Child:
    """Start a server child and wait until it listens (the options are `Child`'s)."""
    child = Child(module, args, name=name, env=env, cwd=cwd, log=log, inherit_stderr=inherit_stderr)
    child.start().listen(startup_timeout)
    return child


@contextmanager
def running(
    module: str, args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Iterator[Child]:
    """A server child for the duration of a `with` block."""
    child = server(module, args, env=env)
    try:
        yield child
    finally:
        child.stop()


class Emulators(NamedTuple):
    """Both emulators, running."""

    slack: Child
    handinger: Child


@contextmanager
def start_emulators(
    slack_args: Sequence[str] = (), handinger_args: Sequence[str] = ()
) -> Iterator[Emulators]:
    """The Handinger emulator, then the Slack emulator (each on a free port unless the
    arguments say otherwise), stopped when the block ends."""
    with (
        running(HANDINGER, ["--port", "0", *handinger_args]) as handinger,
        running(SLACK, ["--port", "0", *slack_args]) as slack,
    ):
        yield Emulators(slack, handinger)


def bot_env(
    slack_url: str, handinger_url: str, db: Path, **overrides: str | None
) -> dict[str, str]:
    """The environment of a bot pointed at the emulators: Socket Mode with the emulators'
    credentials, a health port picked by the system, its database at `db`. An override of
    None leaves that variable out."""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_SIGNING_SECRET": "",
        "SLACK_API_URL": f"{slack_url}/api/",
        "HANDINGER_API_KEY": HANDINGER_KEY,
        "HANDINGER_BASE_URL": handinger_url,
        "HANDINGER_DB": str(db),
        "PORT": "0",
        "LOG_LEVEL": "INFO",
        **overrides,
    }
    return {name: value for name, value in env.items() if value is not None}


class OAuthBot(NamedTuple):
    """A bot in HTTP mode with OAuth installs and no bot token at all, at `base`: what the
    Slack emulator is told first (`slack_config`: its request URL and Redirect URL) and the
    settings the bot runs with (for `bot_env`)."""

    base: str
    slack_config: dict[str, object]
    settings: dict[str, str | None]


def oauth_bot() -> OAuthBot:
    """An `OAuthBot` on a free port."""
    base = f"http://127.0.0.1:{free_port()}"
    redirect = f"{base}/slack/oauth_redirect"
    # No token at all; blanked only if inherited, since Bolt itself warns about a blank
    # SLACK_BOT_TOKEN ("`token` will be unused") when given a client.
    unset = {n: "" if n in os.environ else None for n in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")}
    settings = {
        **unset,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_REDIRECT_URI": redirect,
        "PORT": base.rsplit(":", 1)[1],
    }
    config: dict[str, object] = {"request_url": f"{base}/slack/events", "redirect_urls": [redirect]}
    return OAuthBot(base, config, settings)


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server whose URL must be known before it
    starts (a bot in HTTP mode, whose request URL the Slack emulator is given first)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
