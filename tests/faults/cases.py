"""What a fault try is, and which ones run: the fast subset by default, every one with
`FAULTS=full` (`make faults`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.faults.harness import FaultStack
from tests.faults.invariants import InvariantViolation, check_all

FULL = os.environ.get("FAULTS", "").strip().lower() == "full"
CATEGORIES = ("kill", "slack", "handinger", "http", "hostile")
COMMON = ("500", "429", "close")
"""The fault kinds every call or endpoint is tried with."""
NATIVE = (("SLACK_NATIVE_STREAMING", "true"),)
"""The bot answers follow-ups by streaming them natively (the tests' default is the edit path)."""
GRACE = 30.0
"""How long after the stack settled a try may still put things right (the app shows a final
message it could not show at first 15 s later)."""
HEALABLE = {"lost answers", "cards left working", "duplicate messages", "outcome"}
"""What a later message, edit or deletion can still put right; every other invariant is
checked over every version of every message, so a breach stays a breach."""


@dataclass(frozen=True)
class Case:
    """One try: `drive` makes it happen; after the stack settles, `expect` lists what did
    not turn out as this try requires (beyond the shared invariants)."""

    name: str
    drive: Callable[[FaultStack], None]
    expect: Callable[[FaultStack], list[str]] | None = None
    fast: bool = False
    bot_env: tuple[tuple[str, str], ...] = ()
    """Settings the bot starts with for this try."""
    start_bot: bool = True
    """False when the try starts the bot itself (say, after arming a fault on startup)."""
    grace: bool = True
    """Whether the outcome may still change after the stack settled (False when the try is
    about answers already given, like HTTP status codes)."""


@dataclass(frozen=True)
class Target:
    """One call (or endpoint) the bot makes: how to make the bot make it with a fault armed,
    and what the user must end with. Each of `kinds` becomes one try."""

    name: str
    drive: Callable[[FaultStack, dict[str, Any]], None]
    expect: Callable[[FaultStack], list[str]] | None = None
    kinds: tuple[str, ...] = COMMON
    start_bot: bool = True
    bot_env: tuple[tuple[str, str], ...] = ()


def fault_cases(
    targets: Sequence[Target], kinds: dict[str, dict[str, Any]], fast: str
) -> list[Case]:
    """A try per target and kind, named `target-kind`; the one named `fast` is in the fast
    subset."""
    return [
        Case(
            f"{target.name}-{kind}",
            with_fault(target.drive, kinds[kind]),
            target.expect,
            fast=f"{target.name}-{kind}" == fast,
            start_bot=target.start_bot,
            bot_env=target.bot_env,
        )
        for target in targets
        for kind in target.kinds
    ]


def with_fault(
    drive: Callable[[FaultStack, dict[str, Any]], None], spec: dict[str, Any]
) -> Callable[[FaultStack], None]:
    """A try's drive for one fault `spec` of a call (or endpoint) that takes several."""

    def bound(stack: FaultStack) -> None:
        drive(stack, spec)

    return bound


def select(cases: Sequence[Case]) -> list[Any]:
    """The parameters of a category's test: all cases in full mode, else the fast ones."""
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    chosen = [case for case in cases if FULL or case.fast]
    return [pytest.param(case, id=case.name) for case in chosen]


def attempt(stack: FaultStack, case: Case) -> None:
    """Run one try to the end and judge it."""
    if case.start_bot:
        stack.start_bot(**dict(case.bot_env))
    try:
        case.drive(stack)
        stack.settle()
        judge(stack, case)
    except BaseException:
        print("\n".join(["--- the bot's last log lines ---", *stack.bot_output()[-40:]]))
        raise


def judge(stack: FaultStack, case: Case) -> None:
    """Check the invariants until they hold or `GRACE` seconds have passed: the app may
    legitimately show a final message later (it retries Slack and Handinger with backoff)."""
    deadline = time.monotonic() + GRACE
    while True:
        outcome = case.expect(stack) if case.expect is not None else []
        try:
            check_all(stack, [*outcome, *unfired(stack)])
            return
        except InvariantViolation as violation:
            lasting = set(violation.names) - HEALABLE
            if not case.grace or lasting or time.monotonic() > deadline:
                raise
        time.sleep(2)


def unfired(stack: FaultStack) -> list[str]:
    """A Slack fault still pending means the try never exercised what it names."""
    pending = stack.slack.get("/_emulator/faults").json()["faults"]
    return [f"the Slack fault on {f['method']} never fired" for f in pending]
