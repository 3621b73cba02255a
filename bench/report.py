"""The machine a benchmark ran on, and its results as a Markdown table."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """CPU, memory, OS and Python: what `nproc`, `/proc/cpuinfo` and `/proc/meminfo` say."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model or platform.processor(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "slack_sdk": _version("slack_sdk"),
        "slack_bolt": _version("slack_bolt"),
    }


def code_version(source: Path | None) -> dict[str, Any]:
    """Which code was measured: this checkout's commit, how many files under bot/ and emulators/
    differed from it, and the `--source` directory when another copy of them was measured."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "bot", "emulators")
    return {
        "source": str(source) if source else None,
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "uncommitted_bot_files": len(changed.splitlines()) if changed else 0,
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _code(code: dict[str, Any]) -> str:
    commit = code.get("commit") or "unknown commit"
    dirty = code.get("uncommitted_bot_files") or 0
    text = f"{commit}" + (f" + {dirty} uncommitted file(s) under bot/, emulators/" if dirty else "")
    return text + (f", code copied to {code['source']}" if code.get("source") else "")


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return " ".join(str(value).split()).replace("|", "\\|")


def _value(entry: dict[str, Any]) -> str:
    value = entry.get("value")
    if value is None:
        return "—"
    unit = entry.get("unit") or ""
    return f"{value} {unit}".strip()


def _met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def table(results: dict[str, Any]) -> str:
    lines = [
        "| Scenario | Metric | Target | Measured | Met | Notes |",
        "|---|---|---|---|---|---|",
    ]
    for name, scenario in results["scenarios"].items():
        if "error" in scenario:
            lines.append(f"| {name} | failed to run | | | **no** | {_cell(scenario['error'])} |")
            continue
        for entry in scenario.get("rows", []):
            lines.append(
                "| "
                + " | ".join(
                    [
                        _cell(entry["scenario"]),
                        _cell(entry["metric"]),
                        _cell(entry["target"]),
                        _value(entry),
                        _met(entry["met"]),
                        _cell(entry["note"]),
                    ]
                )
                + " |"
            )
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    box = results["machine"]
    head = [
        f"# Benchmark {results['started']}{' (quick)' if results['quick'] else ''}",
        "",
        f"Machine: {box['nproc']} CPU ({box['cpu']}), {box['memory_gb']} GB RAM, {box['os']}, "
        f"Python {box['python']}, slack_sdk {box['slack_sdk']}, slack_bolt {box['slack_bolt']}. "
        f"Took {results['elapsed_s']:.0f} s. Code: {_code(results.get('code') or {})}.",
        "",
        table(results),
        "",
    ]
    return "\n".join(head)
