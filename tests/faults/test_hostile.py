"""`hostile`: worker output and user instructions meant to ping everyone, disguise links, hide
text, or stall the app, generated from seeds (`hostile.py`) plus a few hand-picked classics.

While each hostile answer streams, several commands arrive at once: Slack's 3-second ack must
hold for all of them (`late acks`), however expensive the answer is to render.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults import hostile
from tests.faults.cases import Case, attempt, select
from tests.faults.harness import FaultStack
from tests.faults.steps import answers_streaming, finished_run

GENERATED = range(1, 13)
HUGE = range(101, 104)
ECHOED = range(1, 7)
BURST = 6


def burst(stack: FaultStack, count: int = BURST) -> None:
    """`count` people type `/handinger help` at the same moment."""
    stack.record.actors.add("U0001")
    url = f"{stack.slack_url}/_emulator/slash"

    def one(_: int) -> None:
        body = {"channel": "C0001", "user": "U0001", "text": "help"}
        httpx.post(url, json=body, timeout=30).raise_for_status()

    with ThreadPoolExecutor(count) as pool:
        list(pool.map(one, range(count)))


def streams(
    text: str, sources: list[dict[str, str]] | None, tag: str
) -> Callable[[FaultStack], None]:
    """The worker answers `text` (citing `sources`); commands burst in while it streams."""

    def drive(stack: FaultStack) -> None:
        stack.answer(text, match=tag, sources=sources)
        stack.run(f"{tag} [[duration=3]]")
        answers_streaming(stack)
        burst(stack)

    return drive


def freeze(text: str, runs: int, tag: str) -> Callable[[FaultStack], None]:
    """Issue 12's freeze: several answers that are slow to render stream at once."""

    def drive(stack: FaultStack) -> None:
        stack.answer(text, match=tag, count=runs)
        for n in range(runs):
            stack.run(f"{tag} {n} [[duration=4]] [[chunks=30]]")
        answers_streaming(stack, runs)
        burst(stack)

    return drive


def generated(seed: int, huge: bool = False) -> Callable[[FaultStack], None]:
    made = hostile.answer(seed, huge=huge)
    return streams(made.text, made.sources, f"hostile-{seed}")


def echoed(seed: int) -> Callable[[FaultStack], None]:
    """The user's own hostile instruction, quoted on the card and echoed by the worker."""

    def drive(stack: FaultStack) -> None:
        stack.run(hostile.instruction(seed))

    return drive


def echoed_in_thread(stack: FaultStack) -> None:
    card = finished_run(stack, "an ordinary question first")
    stack.reply(hostile.instruction(99), card["ts"])


def file_titles(stack: FaultStack) -> None:
    stack.run("files with hostile names [[file=rep\u202eort<!here>.md]] [[file=<@U0VICTIM>.txt]]")


CLASSIC_PARENS = "https://a/" + ")" * 30_000


def cases() -> list[Case]:
    found = [Case(f"generated-{s}", generated(s), fast=s == GENERATED[0]) for s in GENERATED]
    found += [Case(f"huge-{s}", generated(s, huge=True)) for s in HUGE]
    found.append(Case("classic-30k-parens", freeze(CLASSIC_PARENS, 4, "classic-parens")))
    found += [Case(f"echoed-{s}", echoed(s)) for s in ECHOED]
    found.append(Case("echoed-in-thread", echoed_in_thread))
    found.append(Case("file-titles", file_titles))
    return found


CASES = cases()


@pytest.mark.parametrize("case", select(CASES))
def test_hostile(stack: FaultStack, case: Case) -> None:
    attempt(stack, case)
