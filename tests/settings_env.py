"""Tests that load `Settings` must not see the developer's environment or a stray `.env`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings


def clear_settings_env(monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    """Unset every variable `Settings` reads (its field names, upper-cased) and work in `cwd`."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(cwd)
