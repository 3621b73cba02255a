"""What a child process of the benchmark costs: CPU time and memory, from `/proc/<pid>`.

The children themselves (emulators, bot, relays) are started by `emulators.harness`, with their
output in log files under the run's work directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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


def spent(ends: list[Usage], idles: list[Usage]) -> str:
    """Each replica's CPU seconds during the load, `a / b / c`."""
    return " / ".join(
        f"{e.cpu_seconds - i.cpu_seconds:.1f}" for e, i in zip(ends, idles, strict=True)
    )


def total(usages: list[Usage]) -> Usage:
    """The replicas together: CPU and RSS summed; the peak RSS is the largest any one process
    reached (the RSS target is per process)."""
    return Usage(
        sum(u.cpu_seconds for u in usages),
        sum(u.rss_mb for u in usages),
        max(u.peak_rss_mb for u in usages),
    )
