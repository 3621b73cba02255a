"""How a `<when>` the parser refused (`core.when.WhenError`) reads in Slack: mrkdwn, the user's
words escaped in code spans, each message saying what to write instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from ..core.when import WhenError, WhenProblem
from ..core.when_gaps import MINIMUM_SETTING
from ..core.when_times import duration_text, format_moment, short_duration
from ..handinger.models import MAX_SCHEDULE_SECONDS, IntervalWhen, When
from .mrkdwn import escape

FORMS = (
    "• `every 30m` (or `s`, `h`, `d`, `w`; `every 2 hours`): repeat, the first run one interval"
    " from now\n"
    "• `in 45m`: once, after a delay\n"
    "• `at 09:00`, `at tomorrow 09:00`, `at 2026-12-01 09:00`: once, in your Slack time zone\n"
    "• `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`, `hourly`: repeat at fixed UTC times\n"
    '• `cron "0 9 * * 1-5"`: a 5-field cron expression, in UTC'
)
USAGE = "`/handinger schedule &lt;when&gt; &lt;instruction&gt;`"
CRON_EXAMPLE = '`cron "0 9 * * 1-5"` (09:00 UTC, Monday to Friday)'
AT_FORMS = "write `at 09:00`, `at tomorrow 09:00` or `at 2026-12-01 09:00` (24-hour)"
_CODE_CHARS = 80


def code(text: str) -> str:
    """User text in an error: short, escaped, and unable to close its code span."""
    short = text if len(text) <= _CODE_CHARS else text[: _CODE_CHARS - 1] + "…"
    return "`" + escape(short.replace("`", "'")) + "`"


def when_error_text(error: WhenError) -> str:
    """Why the `<when>` is not a schedule and what to write instead (mrkdwn, escaped)."""
    return _WORDING[error.problem](error)


def too_often(shown: str, when: When, gap: timedelta, minimum: timedelta) -> str:
    """Why a schedule whose runs come `gap` apart is refused (`shown` is the user's `<when>`,
    already escaped in a code span), and what to do instead."""
    least, seconds = duration_text(int(minimum.total_seconds())), int(gap.total_seconds())
    runs = (
        f"runs every {duration_text(seconds, bare_one=True)}"
        if isinstance(when, IntervalWhen)
        else f"has runs only {duration_text(seconds)} apart"
    )
    return (
        f"{shown} {runs}, but repeating schedules here must be at least {least} apart"
        f" (so digests do not flood the channel). Use e.g. `every {short_duration(minimum)}`,"
        " or `in …` / `at …` for a single run. An admin can lower the minimum with"
        f" `{MINIMUM_SETTING}`."
    )


def _no_instruction(e: WhenError) -> str:
    example = code(f"/handinger schedule {e.text} summarise today's top stories")
    return f"{code(e.text)} says when, but not what: add the instruction after it, e.g. {example}."


def _too_often(e: WhenError) -> str:
    assert e.when is not None and e.gap is not None and e.minimum is not None
    return too_often(code(e.text), e.when, e.gap, e.minimum)


def _where(e: WhenError) -> str:
    return escape(f" {e.zone}" if e.zone else " UTC")


def _moment(e: WhenError) -> str:
    assert e.moment is not None
    return f"{format_moment(e.moment)}{_where(e)}"


def _nonexistent(e: WhenError) -> str:
    assert e.moment is not None
    return (
        f"{e.moment:%H:%M} does not exist on {e.moment:%Y-%m-%d} in {code(str(e.zone))}: the"
        " clocks go forward then. Pick another time, e.g. an hour later."
    )


def _past(e: WhenError) -> str:
    assert e.now is not None
    return (
        f"{_moment(e)} is in the past (it is now {format_moment(e.now)}{_where(e)}). Pick a"
        " future time, e.g. `at tomorrow 09:00`."
    )


def _not_a_day(e: WhenError) -> str:
    shown = f"{code(e.text)} is not a day of the week. " if e.text else ""
    return (
        f"{shown}`weekly` needs a day and a time, e.g. `weekly mon 09:00` (days: mon, tue, wed,"
        " thu, fri, sat, sun)."
    )


def _duration_example(e: WhenError) -> str:
    return f"e.g. `{e.keyword} 30m` or `{e.keyword} 2h`"


def _no_amount(e: WhenError) -> str:
    shown = code(e.text) + " is not" if e.text else f"`{e.keyword}` needs"
    return f"{shown} an amount of time, {_duration_example(e)}."


def _not_a_unit(e: WhenError) -> str:
    monthly = ' Months vary in length: for monthly runs use `cron "0 9 1 * *"`.'
    return (
        f"{code(e.text)} is not a time unit. Use `s`, `m` (or `min`), `h`, `d` or `w`,"
        f" {_duration_example(e)}.{monthly if e.text.startswith('mo') else ''}"
    )


def _time_example(e: WhenError) -> str:
    return f"e.g. `{e.keyword} 09:00` or `{e.keyword} 17:30`"


def _not_a_time(e: WhenError) -> str:
    shown = code(e.text) + " is not a time" if e.text else f"`{e.keyword.split()[0]}` needs a time"
    return f"{shown}; write 24-hour `HH:MM`, {_time_example(e)}."


def _field_count(e: WhenError) -> str:
    return (
        f"{code(e.text)} has {e.count} field{'' if e.count == 1 else 's'}, but Handinger needs"
        f" exactly 5: minute hour day-of-month month day-of-week, e.g. {CRON_EXAMPLE}."
    )


_WORDING: dict[WhenProblem, Callable[[WhenError], str]] = {
    "empty": lambda e: f"Say when and what: {USAGE}, using one of:\n{FORMS}",
    "unknown_keyword": lambda e: (
        f"{code(e.text)} is not a way to say when. Start with one of:\n{FORMS}"
    ),
    "no_instruction": _no_instruction,
    "never_runs": lambda e: f"{code(e.text)} never runs: no date matches it. E.g. {CRON_EXAMPLE}.",
    "too_often": _too_often,
    "relative_with_time": lambda e: (
        f"`{e.keyword}` counts from now, so it cannot also have a time of day. For fixed times"
        f" use `at tomorrow 09:00`, `daily 09:00`, `weekly mon 09:00` or {CRON_EXAMPLE}."
    ),
    "not_a_date": lambda e: f"{code(e.text)} is not a real date; {AT_FORMS}.",
    "not_a_date_or_time": lambda e: (
        f"{code(e.text) + ' is not a date or time' if e.text else '`at` needs a time'}; {AT_FORMS}."
    ),
    "nonexistent_time": _nonexistent,
    "past": _past,
    "too_far": lambda e: (
        f"{_moment(e)} is more than a year ahead; Handinger schedules at most 365 days ahead."
        " Pick an earlier date."
    ),
    "not_a_day": _not_a_day,
    "cron_empty": lambda e: f"`cron` needs a 5-field expression in quotes, e.g. {CRON_EXAMPLE}.",
    "cron_unclosed": lambda e: (
        f"The cron expression has no closing quote; write e.g. {CRON_EXAMPLE}."
    ),
    "cron_extra_field": lambda e: (
        f"{code(e.text)} looks like more than 5 fields. Handinger takes exactly 5 (minute hour"
        f" day month weekday); quote them, e.g. {CRON_EXAMPLE}."
    ),
    "cron_field_count": _field_count,
    "cron_invalid": lambda e: (
        f"{code(e.text)} is not a valid cron expression (5 fields: minute hour day-of-month"
        f" month day-of-week, in UTC). Write e.g. {CRON_EXAMPLE}."
    ),
    "no_amount": _no_amount,
    "no_unit": lambda e: (
        f"{code(e.text)} needs a unit: `s`, `m`, `h`, `d` or `w`, {_duration_example(e)}."
    ),
    "not_a_unit": _not_a_unit,
    "not_positive": lambda e: (
        f"{code(e.text)} is not a positive whole amount of time; {_duration_example(e)}."
    ),
    "too_long": lambda e: (
        f"{code(e.text)} is too long: Handinger allows from 1 second up to 365 days"
        f" ({MAX_SCHEDULE_SECONDS:,} seconds), e.g. `{e.keyword} 30d`."
    ),
    "not_a_time": _not_a_time,
    "time_out_of_range": lambda e: (
        f"{code(e.text)} is not a valid time: hours go from 00 to 23 and minutes from 00 to 59;"
        f" {_time_example(e)}."
    ),
    "am_pm": lambda e: "Use 24-hour time: `09:00` for 9 am, `21:00` for 9 pm.",
}
