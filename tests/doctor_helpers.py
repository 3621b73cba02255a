"""Running `handinger-slack doctor` in-process against the emulators, for the doctor tests of
Socket Mode and of OAuth mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from emulators.harness import Emulators, bot_env
from tests.settings_env import clear_settings_env

Doctor = Callable[[dict[str, str]], tuple[int, dict[str, str]]]
"""`doctor` bound to a test's fixtures (the `run_doctor` fixture)."""


def installed_env(emulators: Emulators, tmp_path: Path) -> dict[str, str]:
    """The environment of a correctly configured Socket Mode installation."""
    db = tmp_path / "data" / "handinger-slack.db"
    return bot_env(emulators.slack.url, emulators.handinger.url, db)


def doctor(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> tuple[int, dict[str, str]]:
    """Run `handinger-slack doctor` in-process; return its status and its lines by check name."""
    clear_settings_env(monkeypatch, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status = main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    by_name = {line[2:].split(":", 1)[0]: line for line in lines if line[:1] in "✓✗!–"}
    by_name["summary"] = lines[-1]
    return status, by_name
