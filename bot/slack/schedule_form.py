"""The schedule modal's fields, checked by the same rules as `/handinger schedule`.

The form has a control for each part, so each field holds only its part: the When field only a
`<when>`, the Instruction field only the instruction (options there would be ignored text, so
they are refused; a leading `--` keeps a dash-led instruction), the budget in its menu. Mistakes
come back per field, in plain text as Slack shows them under the field.
"""

from __future__ import annotations

from datetime import datetime

from ..budgets import BUDGETS, Budget
from ..config import Settings
from ..core.when import ParsedSchedule, WhenError, parse_when
from .options import CommandError, read_options
from .schedule_views import BUDGET_BLOCK, INSTRUCTION_BLOCK, WHEN_BLOCK
from .when_wording import when_error_text

FieldErrors = dict[str, str]
"""Slack's `response_action: errors`: block id → what is wrong with that field."""

OPTIONS_IN_FIELD = (
    "Options are not read here: choose the budget in the Budget menu. To start the instruction"
    " with a dash, begin it with “-- ”."
)


def read_form(
    when_text: str,
    instruction_text: str,
    budget_text: str,
    *,
    now: datetime,
    tz: str | None,
    settings: Settings,
) -> tuple[ParsedSchedule, Budget | None] | FieldErrors:
    """The schedule the form asks for and its budget, or what is wrong with each field."""
    errors: FieldErrors = {}
    budget = next((b for b in BUDGETS if b == budget_text), None)
    if budget is not None and not settings.budget_allowed(budget):
        errors[BUDGET_BLOCK] = f"Above this workspace's maximum ({settings.handinger_max_budget})."
    instruction = field_instruction(instruction_text)
    if instruction is None:
        errors[INSTRUCTION_BLOCK] = OPTIONS_IN_FIELD
    elif not instruction:
        errors[INSTRUCTION_BLOCK] = "Tell the worker what to do on each run."
    when = parse_when(when_text, now, tz, settings.min_schedule_interval)
    if isinstance(when, WhenError):
        errors[WHEN_BLOCK] = _plain(when_error_text(when))
    elif when.rest.strip():
        rest = " ".join(when.rest.split())
        errors[WHEN_BLOCK] = (
            f"Only the when goes here (“{when.text}”). Put “{_short(rest)}” in the Instruction"
            " field; a budget goes in the Budget menu."
        )
    if errors or isinstance(when, WhenError) or not instruction:
        return errors
    schedule = when.with_instruction(instruction)
    if isinstance(schedule, WhenError):  # not reached: the instruction is not empty
        return {INSTRUCTION_BLOCK: _plain(when_error_text(schedule))}
    return schedule, budget


def field_instruction(text: str) -> str | None:
    """The instruction in a form field; None when the text carries options, which the form
    takes from its own controls. After a leading `--` the rest is kept as typed."""
    parsed = read_options(text, "")
    if isinstance(parsed, CommandError):
        return None
    options, rest = parsed
    return None if options.budget is not None or options.help else rest


def prefill(instruction: str) -> str:
    """An instruction as the form shows it, so that submitting it unchanged gives it back:
    one that would read as options (`--fast mode`) gets a leading `-- `."""
    return (
        instruction
        if field_instruction(instruction) == instruction.strip()
        else f"-- {instruction}"
    )


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _plain(mrkdwn: str) -> str:
    """Modal errors are plain text: drop the mrkdwn code marks and entities."""
    return mrkdwn.replace("`", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
