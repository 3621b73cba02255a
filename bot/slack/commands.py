"""Parsing `/handinger` text and @mentions into what the user asked for.

Errors are values, not exceptions: the listener shows `CommandError.message` ephemerally as it
is. That message is mrkdwn that is already safe to post (the user's own words in it are escaped),
and it always says what was wrong and what to type instead. Options are read by `options`, the
same way for runs and schedules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..budgets import Budget
from ..core.when import ParsedSchedule, WhenError, parse_when
from .mrkdwn import escape, slack_to_plain
from .options import CommandError, leading_options, read_options
from .when_wording import when_error_text

RESERVED_WORDS: tuple[str, ...] = ("help", "status", "schedule", "schedules", "unschedule")
DEFAULT_COMMAND = "/handinger"
MENTION_USAGE = "@Handinger"
"""How a mention is shown in the examples of its error messages."""
_TOKEN = re.compile(r"\S+")

__all__ = [
    "DEFAULT_COMMAND",
    "RESERVED_WORDS",
    "Command",
    "CommandError",
    "Help",
    "RunInstruction",
    "ScheduleInstruction",
    "Subcommand",
    "parse_command",
    "parse_mention",
    "parse_mention_run",
    "parse_schedule_command",
]


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
class ScheduleInstruction:
    """Create a schedule. `budget` is None when the user did not ask for one."""

    schedule: ParsedSchedule
    budget: Budget | None = None


Command = Help | RunInstruction | Subcommand | CommandError


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
    return _run_instruction(plain, command)


def _run_instruction(
    plain: str, usage: str, *, may_be_empty: bool = False
) -> RunInstruction | Help | CommandError:
    """A run's options and instruction, read the same for the command and a mention;
    `may_be_empty`: files came with it, so options alone are enough."""
    parsed = read_options(plain, usage)
    if isinstance(parsed, CommandError):
        return parsed
    options, instruction = parsed
    if options.help:
        return Help()
    if not instruction and not may_be_empty:
        return CommandError(
            f"Tell me what to do, e.g. `{escape(usage)} summarise this week's incidents`."
        )
    return RunInstruction(instruction, options.budget)


def parse_schedule_command(
    args: str,
    now: datetime,
    tz: str | None = None,
    minimum: timedelta | None = None,
    command: str = DEFAULT_COMMAND,
) -> ScheduleInstruction | Help | CommandError:
    """`/handinger schedule` `args` (already plain text, as in `Subcommand`): options, then
    `<when>`, then options again, then the instruction; a closing `--budget X` counts too.
    `minimum` is the shortest time allowed between two runs of a repeating schedule."""
    usage = f"{command} schedule"
    if args.strip().lower() == "help":
        return Help()
    leading = leading_options(args, usage)
    if isinstance(leading, CommandError):
        return leading
    options, rest = leading
    if options.help:
        return Help()
    when = parse_when(rest, now, tz, minimum)
    if isinstance(when, WhenError):
        return CommandError(when_error_text(when))
    instruction = when.rest.strip()
    if not options.ended:
        after = read_options(when.rest, f"{usage} {when.text}", options)
        if isinstance(after, CommandError):
            return after
        options, instruction = after
        if options.help:
            return Help()
    schedule = when.with_instruction(instruction)
    if isinstance(schedule, WhenError):
        return CommandError(when_error_text(schedule))
    return ScheduleInstruction(schedule, options.budget)


def parse_mention(text: str, bot_user_id: str) -> str:
    """The instruction in a message that @mentions the bot: leading bot mentions removed."""
    if bot_user_id:
        mention = rf"<@{re.escape(bot_user_id)}(?:\|[^<>]*)?>"
        stripped = re.sub(rf"^\s*(?:{mention}\s*)+", "", text)
        if stripped != text:
            text = re.sub(r"^[,:]\s*", "", stripped)
    return slack_to_plain(text).strip()


def parse_mention_run(
    text: str, bot_user_id: str, *, has_files: bool = False
) -> RunInstruction | Help | CommandError:
    """A mention or DM that starts a worker: its options read as the command's (`--budget`,
    `--help`, `--`), with the same errors. Nothing typed is `Help`; with files attached, options
    alone are a run on the files (an empty `instruction`)."""
    plain = parse_mention(text, bot_user_id)
    if not plain:
        return RunInstruction("") if has_files else Help()
    return _run_instruction(plain, MENTION_USAGE, may_be_empty=has_files)
