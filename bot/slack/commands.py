"""Parsing `/handinger` text and @mentions into what the user asked for.

Errors are values, not exceptions: the listener shows `CommandError.message` ephemerally as it
is. That message is mrkdwn that is already safe to post (the user's own words in it are escaped),
and it always says what was wrong and what to type instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..handinger.models import BUDGETS, Budget
from .mrkdwn import escape, slack_to_plain

RESERVED_WORDS: tuple[str, ...] = ("help", "status", "schedule", "schedules", "unschedule")
DEFAULT_COMMAND = "/handinger"
_TOKEN = re.compile(r"\S+")
_BUDGET_FLAGS = ("--budget", "-b")
_HELP_FLAGS = ("-h", "--help")
_LOOKS_LIKE_OPTION = re.compile(r"--?[A-Za-z]")


@dataclass(frozen=True, slots=True)
class Help:
    """Show usage."""


@dataclass(frozen=True, slots=True)
class RunInstruction:
    """Start a worker. `budget` is None when the user did not ask for one."""

    instruction: str
    budget: Budget | None = None


@dataclass(frozen=True, slots=True)
class Subcommand:
    """A reserved first word (`status`, `schedule`, …); `args` is the rest, verbatim."""

    name: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class CommandError:
    """Bad input. `message` is ready-to-post mrkdwn (user text in it is escaped)."""

    message: str


Command = Help | RunInstruction | Subcommand | CommandError


def _code(text: str) -> str:
    """User text shown inside backticks: escaped, shortened, and unable to close the span."""
    text = text.replace("`", "'")
    return f"`{escape(text if len(text) <= 40 else text[:39] + '…')}`"


def _dashes(token: str) -> str:
    """Phones and Macs turn a typed `--` into an em or en dash; read those as `--`."""
    return re.sub(r"^[—–]", "--", token)


def _budget(value: str | None, command: str) -> Budget | CommandError:
    choices = ", ".join(BUDGETS)
    if value is None or not value.strip():
        return CommandError(
            f"`--budget` needs a value: one of {choices}. "
            f"For example `{escape(command)} --budget high summarise this week's incidents`."
        )
    lowered = value.strip().lower()
    if lowered not in BUDGETS:
        return CommandError(
            f"{_code(value)} is not a budget. Use one of {choices}, e.g. `--budget high`. "
            f"If the instruction itself mentions a flag, put it after `--`: "
            f"`{escape(command)} -- explain the --budget flag`."
        )
    return lowered


def _merge(first: Budget | None, second: Budget) -> Budget | CommandError:
    if first is not None and first != second:
        return CommandError(
            f"The budget was given twice ({_code(first)} and {_code(second)}). Give it once."
        )
    return second


def _trailing_budget(rest: str, command: str) -> tuple[str, Budget | CommandError | None]:
    """`… --budget high` at the very end: strip it off the instruction.

    `-b X` only counts when X is a real budget, so `run grep -b foo` stays an instruction; the
    long form is explicit enough that a bad or missing value is reported.
    """
    tokens = list(_TOKEN.finditer(rest))
    if not tokens:
        return rest, None
    last = _dashes(tokens[-1].group())
    if last.lower().startswith("--budget="):
        return rest[: tokens[-1].start()].rstrip(), _budget(last.split("=", 1)[1], command)
    if last.lower() == "--budget":
        return rest, _budget(None, command)
    if len(tokens) >= 2:
        flag = _dashes(tokens[-2].group()).lower()
        value = tokens[-1].group()
        if flag == "--budget" or (flag == "-b" and value.lower() in BUDGETS):
            return rest[: tokens[-2].start()].rstrip(), _budget(value, command)
    return rest, None


def parse_command(text: str, command: str = DEFAULT_COMMAND) -> Command:
    """Parse the text after the slash command, as Slack delivers it."""
    plain = slack_to_plain(text).strip()
    tokens = list(_TOKEN.finditer(plain))
    if not tokens:
        return Help()
    first = tokens[0].group().lower()
    if first in RESERVED_WORDS:
        if first == "help":
            return Help()
        return Subcommand(first, plain[tokens[0].end() :].strip())

    budget: Budget | None = None
    rest = ""
    verbatim = False
    i = 0
    while i < len(tokens):
        token = _dashes(tokens[i].group())
        value: str | None
        if token == "--":
            rest = plain[tokens[i].end() :].strip()
            verbatim = True
            break
        flag = token.lower()
        if flag in _HELP_FLAGS:
            return Help()
        if flag in _BUDGET_FLAGS:
            value = tokens[i + 1].group() if i + 1 < len(tokens) else None
            i += 2
        elif flag.startswith(("--budget=", "-b=")):
            value = token.split("=", 1)[1]
            i += 1
        elif _LOOKS_LIKE_OPTION.match(token):
            return CommandError(
                f"Unknown option {_code(token)}. Options: `--budget low|standard|high|unlimited` "
                f"(or `-b`) and `--help`. To start an instruction with a dash, put it after "
                f"`--`: `{escape(command)} -- {escape(token[:40])} …`."
            )
        else:
            rest = plain[tokens[i].start() :]
            break
        parsed = _budget(value, command)
        if isinstance(parsed, CommandError):
            return parsed
        merged = _merge(budget, parsed)
        if isinstance(merged, CommandError):
            return merged
        budget = merged

    if not verbatim:
        rest, trailing = _trailing_budget(rest, command)
        if isinstance(trailing, CommandError):
            return trailing
        if trailing is not None:
            merged = _merge(budget, trailing)
            if isinstance(merged, CommandError):
                return merged
            budget = merged
    instruction = rest.strip()
    if not instruction:
        return CommandError(
            f"Tell me what to do, e.g. `{escape(command)} summarise this week's incidents`."
        )
    return RunInstruction(instruction, budget)


def parse_mention(text: str, bot_user_id: str) -> str:
    """The instruction in a message that @mentions the bot: leading bot mentions removed."""
    if bot_user_id:
        mention = rf"<@{re.escape(bot_user_id)}(?:\|[^<>]*)?>"
        stripped = re.sub(rf"^\s*(?:{mention}\s*)+", "", text)
        if stripped != text:
            text = re.sub(r"^[,:]\s*", "", stripped)
    return slack_to_plain(text).strip()
