"""Start real processes (emulators, the bot) for end-to-end tests and wait until they listen."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on (http://\S+)")


class ServerProcess:
    """A `python -m <module>` child whose first stdout line is `listening on http://HOST:PORT`."""

    def __init__(
        self,
        module: str,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        startup_timeout: float = 20.0,
        cwd: Path | None = None,
    ) -> None:
        self.module = module
        self.cwd = cwd or ROOT
        self.args = list(args)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.startup_timeout = startup_timeout
        self.url = ""
        self.output: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> ServerProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        found = threading.Event()

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                self.output.append(line.rstrip("\n"))
                match = LISTENING.search(line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()
            found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not found.wait(self.startup_timeout) or not self.url:
            self.stop()
            raise RuntimeError(
                f"{self.module} did not start listening:\n" + "\n".join(self.output[-50:])
            )
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the crash case, no cleanup code runs."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def running(
    module: str, args: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    server = ServerProcess(module, args, env).start()
    try:
        yield server
    finally:
        server.stop()
