"""Driving the sandbox page in a real browser: Debian's Chromium, through Playwright.

The browser is the system's (`/usr/bin/chromium`, installed by `.ci/run` with apt-get);
Playwright's own browser downloads are never used. A missing browser or Playwright fails the
test with what to install: browser tests are never skipped.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from emulators.harness import ROOT, Child

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS = ROOT / "docs"
IN_README = {"sandbox-card", "sandbox-thread"}
"""The screenshots the README shows (`docs/NAME.png`)."""
SANDBOX_URL = re.compile(r"Sandbox: open (http://\S+) in your browser")
HANDINGER_URL = re.compile(r"Handinger emulator\s+(http://\S+)")


def require_browser() -> str:
    """The Chromium executable, or a failed test saying how to install it."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium was not found at {CHROMIUM}: the browser tests need Debian's package "
            "(`sudo apt-get install -y chromium`; `.ci/run` installs it), or set CHROMIUM "
            "to another Chromium executable."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("Playwright is missing: `pip install -e '.[test]'` (or `make install`).")
    return CHROMIUM


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for the whole module."""
    executable = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class Sandbox:
    """`handinger-slack sandbox` as `make run` starts it, in a scratch directory."""

    def __init__(self, workdir: Path) -> None:
        self.process = Child(
            "bot",
            ["sandbox", "--port", "0", "--web-port", "0"],
            env={"LOG_LEVEL": "WARNING"},
            cwd=workdir,
        )

    def start(self) -> Sandbox:
        self.process.start().listen(timeout=60)
        text = "\n".join(self.process.output)
        page, handinger = SANDBOX_URL.search(text), HANDINGER_URL.search(text)
        assert page and handinger, f"the sandbox banner changed:\n{text}"
        assert "Fresh sandbox: nothing is kept between runs" in text, text
        first = next(line for line in self.process.output if line.strip())
        assert SANDBOX_URL.search(first), f"the page's URL is not the first line: {first!r}"
        self.page_url = page.group(1)
        self.slack_url = self.page_url.removesuffix("/sandbox/")
        self.handinger_url = handinger.group(1)
        return self

    def stop(self) -> None:
        self.process.stop()


def screenshot(page: Any, name: str, locator: Any | None = None) -> Path:
    """Save a screenshot as a test artifact; with SANDBOX_SCREENSHOTS=docs also into docs/
    (the README's pictures: `make screenshots`)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target = locator if locator is not None else page
    target.screenshot(path=str(path))
    if os.environ.get("SANDBOX_SCREENSHOTS") == "docs" and name in IN_README:
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")
    return path
