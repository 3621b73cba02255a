"""The options of `/handinger` (`--budget`/`-b`, `--help`, `--`), read the same way everywhere.

Options stand before the instruction proper: at the start of a run's text, and for a schedule
before `<when>` or between `<when>` and the instruction; `--budget X` may also close the text.
`--` ends the options, so what follows it is instruction even if it looks like a flag. Anything
else that looks like a flag where options stand is an error, never text sent to the agent.
Errors are `CommandError`s whose mrkdwn is safe to post (the user's words in it are escaped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..budgets import BUDGETS, Budget
from .mrkdwn import escape

_TOKEN = re.compile(r"\S+")
_BUDGET_FLAGS = ("--budget", "-b")
_HELP_FLAGS = ("-h", "--help")
_LOOKS_LIKE_OPTION = re.compile(r"--?[A-Za-z]")


@dataclass(frozen=True, slots=True)
class CommandError:
    """Bad input. `message` is ready-to-post mrkdwn (user text in it is escaped)."""

    message: str


@dataclass(frozen=True, slots=True)
class Options:
    """What the options said. `ended`: a `--` was given, so nothing after it is an option."""

    budget: Budget | None = None
    help: bool = False
    ended: bool = False


def read_options(
    text: str, usage: str, before: Options | None = None
) -> tuple[Options, str] | CommandError:
    """The options at the start of `text` (and a closing `--budget X`) and the instruction left.

    `usage` is what the user typed up to here (`/handinger`, `/handinger schedule every 30m`),
    for the examples in error messages; `before` holds options read earlier in the same command,
    so a budget given twice is caught.
    """
    leading = leading_options(text, usage, before)
    if isinstance(leading, CommandError):
        return leading
    options, rest = leading
    if options.ended or options.help:
        return options, rest.strip()
    rest, trailing = _trailing_budget(rest, usage)
    if isinstance(trailing, CommandError):
        return trailing
    if trailing is not None:
        budget = _merge(options.budget, trailing)
        if isinstance(budget, CommandError):
            return budget
        options = replace(options, budget=budget)
    return options, rest.strip()


def leading_options(
    text: str, usage: str, before: Options | None = None
) -> tuple[Options, str] | CommandError:
    """The options at the start of `text` and the untouched rest (its layout kept)."""
    options = before or Options()
    tokens = list(_TOKEN.finditer(text))
    i = 0
    while i < len(tokens):
        token = _dashes(tokens[i].group())
        value: str | None
        if token == "--":
            return replace(options, ended=True), text[tokens[i].end() :]
        flag = token.lower()
        if flag in _HELP_FLAGS:
            return replace(options, help=True), ""
        if flag in _BUDGET_FLAGS:
            value = tokens[i + 1].group() if i + 1 < len(tokens) else None
            i += 2
        elif flag.startswith(("--budget=", "-b=")):
            value = token.split("=", 1)[1]
            i += 1
        elif _LOOKS_LIKE_OPTION.match(token):
            return CommandError(
                f"Unknown option {_code(token)}. Options: `--budget low|standard|high|unlimited` "
                f"(or `-b`) and `--help`. To start the instruction with a dash, put it after "
                f"`--`: `{_literal(usage)} -- {_literal(token[:40])} …`."
            )
        else:
            return options, text[tokens[i].start() :]
        parsed = _budget(value, usage)
        if isinstance(parsed, CommandError):
            return parsed
        budget = _merge(options.budget, parsed)
        if isinstance(budget, CommandError):
            return budget
        options = replace(options, budget=budget)
    return options, ""


def over_budget(budget: str, highest: str) -> str:
    """Why a budget above `HANDINGER_MAX_BUDGET` was refused, and what to do (mrkdwn)."""
    return (
        f"The `{budget}` budget is above this workspace's maximum (`{highest}`). "
        f"Use `--budget {highest}` or lower, or ask an admin to raise `HANDINGER_MAX_BUDGET`."
    )


def _trailing_budget(rest: str, usage: str) -> tuple[str, Budget | CommandError | None]:
    """`… --budget high` at the very end: strip it off the instruction.

    `-b X` only counts when X is a real budget, so `run grep -b foo` stays an instruction; the
    long form is explicit enough that a bad or missing value is reported.
    """
    tokens = list(_TOKEN.finditer(rest))
    if not tokens:
        return rest, None
    last = _dashes(tokens[-1].group())
    if last.lower().startswith("--budget="):
        return rest[: tokens[-1].start()].rstrip(), _budget(last.split("=", 1)[1], usage)
    if last.lower() == "--budget":
        return rest, _budget(None, usage)
    if len(tokens) >= 2:
        flag = _dashes(tokens[-2].group()).lower()
        value = tokens[-1].group()
        if flag == "--budget" or (flag == "-b" and value.lower() in BUDGETS):
            return rest[: tokens[-2].start()].rstrip(), _budget(value, usage)
    return rest, None


def _budget(value: str | None, usage: str) -> Budget | CommandError:
    choices = ", ".join(BUDGETS)
    if value is None or not value.strip():
        return CommandError(
            f"`--budget` needs a value: one of {choices}. "
            f"For example `{_literal(usage)} --budget high summarise this week's incidents`."
        )
    lowered = value.strip().lower()
    if lowered not in BUDGETS:
        return CommandError(
            f"{_code(value)} is not a budget. Use one of {choices}, e.g. `--budget high`. "
            f"If the instruction itself mentions a flag, put it after `--`: "
            f"`{_literal(usage)} -- explain the --budget flag`."
        )
    return lowered


def _merge(first: Budget | None, second: Budget) -> Budget | CommandError:
    if first is not None and first != second:
        return CommandError(
            f"The budget was given twice ({_code(first)} and {_code(second)}). Give it once."
        )
    return second


def _dashes(token: str) -> str:
    """Phones and Macs turn a typed `--` into an em or en dash; read those as `--`."""
    return re.sub(r"^[—–]", "--", token)


def _literal(text: str) -> str:
    """User text inside a code span: escaped, and unable to close the span."""
    return escape(text.replace("`", "'"))


def _code(text: str) -> str:
    """User text shown inside backticks: escaped, shortened, and unable to close the span."""
    text = text.replace("`", "'")
    return f"`{escape(text if len(text) <= 40 else text[:39] + '…')}`"
