"""Fixtures of the fault suite, and its report: a table of tries per category.

`make faults` runs every try (`FAULTS=full`) and prints category / tries / passed / failed and
which invariants failed; the same table is written as Markdown to `faults-table.md` for
RELIABILITY.md. Plain `pytest` runs the fast subset (about one try per category).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emulators.harness import ROOT, Emulators, start_emulators
from tests.faults.cases import CATEGORIES, FULL
from tests.faults.harness import FaultStack
from tests.faults.invariants import InvariantViolation

TABLE_FILE = ROOT / "faults-table.md"


@pytest.fixture(scope="package")
def fault_emulators() -> Iterator[Emulators]:
    """One Slack emulator (strict rate limits) and one Handinger emulator for every try."""
    handinger_args = ["--turn-seconds", "1.5", "--chunks", "20"]
    with start_emulators(["--rate-limits", "strict"], handinger_args) as both:
        yield both


@pytest.fixture
def stack(fault_emulators: Emulators, tmp_path: Path) -> Iterator[FaultStack]:
    """Fresh emulator state, no faults, Socket Mode; the try starts the bot."""
    with FaultStack(*fault_emulators, tmp_path).fresh() as found:
        try:
            yield found
        finally:
            found.release_slack()  # nothing stays held for the next try


# ---- the table -------------------------------------------------------------------------------


@dataclass
class Tally:
    tries: int = 0
    passed: int = 0
    broken: Counter[str] = field(default_factory=Counter)


TALLY = pytest.StashKey[dict[str, Tally]]()


def _category(item: pytest.Item) -> str | None:
    name = Path(str(item.fspath)).stem.removeprefix("test_")
    return name if name in CATEGORIES and "faults" in Path(str(item.fspath)).parts else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    category = _category(item)
    if category is None or (report.when != "call" and report.passed):
        return
    if report.when == "teardown" and report.failed:
        return  # already counted at call time
    tallies = item.config.stash.setdefault(TALLY, {})
    tally = tallies.setdefault(category, Tally())
    tally.tries += 1
    if report.passed:
        tally.passed += 1
        return
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, InvariantViolation):
        tally.broken.update(error.names)
    elif error is not None:
        tally.broken[f"error: {type(error).__name__}"] += 1


def render_table(tallies: dict[str, Tally]) -> str:
    rows = [
        "| category | tries | passed | failed | failed invariants (tries) |",
        "|---|---:|---:|---:|---|",
    ]
    total = Tally()
    for category in CATEGORIES:
        tally = tallies.get(category)
        if tally is None:
            continue
        broken = ", ".join(f"{name} ({n})" for name, n in sorted(tally.broken.items())) or "—"
        failed = tally.tries - tally.passed
        rows.append(f"| {category} | {tally.tries} | {tally.passed} | {failed} | {broken} |")
        total.tries += tally.tries
        total.passed += tally.passed
        total.broken.update(tally.broken)
    broken = ", ".join(f"{name} ({n})" for name, n in sorted(total.broken.items())) or "—"
    rows.append(
        f"| **all** | {total.tries} | {total.passed} | {total.tries - total.passed} | {broken} |"
    )
    return "\n".join(rows) + "\n"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tallies = terminalreporter.config.stash.get(TALLY, {})
    if not tallies:
        return
    table = render_table(tallies)
    terminalreporter.section("fault suite" + (" (full)" if FULL else " (fast subset)"))
    terminalreporter.write(table)
    options = terminalreporter.config.option
    if FULL and not options.keyword and not options.markexpr:  # a whole run, not a selection
        TABLE_FILE.write_text(table)
        terminalreporter.write_line(f"written to {TABLE_FILE.name}")
