"""Child processes of the benchmark: the two emulators, the bot and the baseline relays.

Each server child is `python -m <module>` whose first stdout line is `listening on http://…`
(the emulators' and the bot's contract). Output goes to a log file, never to a pipe that could
fill up while a scenario runs. `/proc/<pid>` gives the child's CPU time and memory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on (http://\S+)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Usage:
    """What the kernel says about one process: CPU seconds, current and peak resident memory."""

    cpu_seconds: float
    rss_mb: float
    peak_rss_mb: float


def usage(pid: int) -> Usage:
    """CPU (user + system) from `/proc/<pid>/stat`, VmRSS and VmHWM from `/proc/<pid>/status`."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)
    memory: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            memory[name] = int(value.split()[0]) / 1024  # kB → MB
    return Usage(cpu, memory.get("VmRSS", 0.0), memory.get("VmHWM", 0.0))


class Child:
    """A `python -m module args…` child with its output in `log_path`."""

    def __init__(
        self,
        name: str,
        module: str,
        args: Sequence[str],
        log_dir: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdin: bool = False,
    ) -> None:
        self.name = name
        self.module = module
        self.args = list(args)
        self.log_path = log_dir / f"{name}.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.cwd = cwd or ROOT
        self.stdin = stdin
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self._proc is not None
        return self._proc

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if self.stdin else subprocess.DEVNULL,
            )
        return self

    def wait_listening(self, timeout: float = 30.0) -> str:
        """Block until the first `listening on` line appears; return the URL."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = LISTENING.search(self.output())
            if match:
                self.url = match.group(1).replace("0.0.0.0", "127.0.0.1")
                return self.url
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = "\n".join(self.output().splitlines()[-40:])
        self.stop()
        raise RuntimeError(f"{self.name} did not start listening:\n{tail}")

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def usage(self) -> Usage:
        return usage(self.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the child has not exited within `timeout` seconds."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout)


def server(
    name: str,
    module: str,
    args: Sequence[str],
    log_dir: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Child:
    """Start a server child and wait until it listens."""
    child = Child(name, module, args, log_dir, env=env, cwd=cwd)
    child.start().wait_listening()
    return child
