"""Parse the `<when>` of `/handinger schedule <when> <instruction>`.

Pure functions: no I/O and no clock reads (`now` is passed in), so confirmations are exact and
tests deterministic. Everything is checked here against the API's limits and the shortest
interval allowed between runs (`when_gaps`), so a bad `<when>` costs no API call; what a valid
one means in run times and words comes from `when_times`.
`WhenError.message` is Slack mrkdwn with the user's text escaped; the text fields of
`ParsedSchedule` are plain text, escaped by whoever renders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from croniter import croniter

from ..handinger.models import (
    MAX_SCHEDULE_SECONDS,
    CronWhen,
    DelayedWhen,
    IntervalWhen,
    ScheduledWhen,
    When,
)
from .when_gaps import shortest_gap, too_often
from .when_times import (
    DAY_NAMES,
    as_utc,
    describe_when,
    format_moment,
    next_runs,
    timezone_note,
    user_zone,
)


@dataclass(frozen=True)
class ParsedSchedule:
    """A valid `<when>` and its instruction, with what the confirmation needs to show."""

    when: When
    instruction: str
    description: str
    next_runs: list[datetime]
    timezone_note: str | None


@dataclass(frozen=True)
class ParsedWhen:
    """A valid `<when>` (`text`, as typed) and the `rest` of the text after it, untouched."""

    when: When
    text: str
    rest: str
    description: str
    next_runs: list[datetime]
    timezone_note: str | None

    def with_instruction(self, instruction: str) -> ParsedSchedule | WhenError:
        """The schedule of this `<when>` with `instruction`, which must say something."""
        if not instruction.strip():
            example = _code(f"/handinger schedule {self.text} summarise today's top stories")
            return WhenError(
                f"{_code(self.text)} says when, but not what: add the instruction after it,"
                f" e.g. {example}."
            )
        return ParsedSchedule(
            self.when, instruction.strip(), self.description, self.next_runs, self.timezone_note
        )


@dataclass(frozen=True)
class WhenError:
    """Why the text is not a schedule and what to write instead (Slack mrkdwn, escaped)."""

    message: str


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
_UNIT_WORDS = (
    (1, "s sec secs second seconds"),
    (60, "m min mins minute minutes"),
    (3_600, "h hr hrs hour hours"),
    (86_400, "d day days"),
    (604_800, "w wk wks week weeks"),
)
_UNITS = {word: seconds for seconds, words in _UNIT_WORDS for word in words.split()}
_DAYS = {
    key: i for i, n in enumerate(name.lower() for name in DAY_NAMES) for key in (n, n + "s", n[:3])
} | {"tues": 2, "thurs": 4}
_DAY_KEYS = tuple(name[:3].lower() for name in DAY_NAMES)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MAX_DELTA = timedelta(seconds=MAX_SCHEDULE_SECONDS)
_NUMBER = re.compile(r"([+-]?\d+(?:[.,]\d+)?)([a-z]*)")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[tT](\S*))?")
_CRON_NUMERIC = re.compile(r"[\d*/,\-]+")
_CRON_FIELD = re.compile(r"[0-9a-z*/,\-]+")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "”": "”", "’": "’"}
_TOKEN = re.compile(r"\s*(\S+)(.*)", re.S)


@dataclass(frozen=True)
class _Step:
    """What a keyword's parser consumed: the `when`, the text left over, the zone it used."""

    when: When
    rest: str
    tz: str | None


_Parser = Callable[[str, datetime, str | None], _Step | WhenError]


def parse_schedule(
    text: str, now: datetime, tz: str | None = None, minimum: timedelta | None = None
) -> ParsedSchedule | WhenError:
    """Split `<when> <instruction>`, check the `when` against the API's limits, describe it."""
    parsed = parse_when(text, now, tz, minimum)
    return parsed if isinstance(parsed, WhenError) else parsed.with_instruction(parsed.rest)


def parse_when(
    text: str, now: datetime, tz: str | None = None, minimum: timedelta | None = None
) -> ParsedWhen | WhenError:
    """The `<when>` at the start of `text`, checked against the API's limits and, for repeating
    schedules, against `minimum` (the shortest time allowed between two runs); `rest` is the
    text after it, for the caller to read the instruction (and any options) from."""
    now, text = as_utc(now), text.strip()
    if not text:
        return WhenError(f"Say when and what: {USAGE}, using one of:\n{FORMS}")
    keyword, rest = _pop(text)
    parser = _PARSERS.get(keyword.lower())
    if parser is None:
        return WhenError(f"{_code(keyword)} is not a way to say when. Start with one of:\n{FORMS}")
    step = parser(rest, now, tz if user_zone(tz) is not None else None)
    if isinstance(step, WhenError):
        return step
    when_text = text[: len(text) - len(step.rest)].strip()
    runs = next_runs(step.when, now)
    if not runs:
        return WhenError(f"{_code(when_text)} never runs: no date matches it. E.g. {CRON_EXAMPLE}.")
    gap = shortest_gap(step.when, now)
    if minimum is not None and gap is not None and gap < minimum:
        return WhenError(too_often(_code(when_text), step.when, gap, minimum))
    description = describe_when(step.when, step.tz)
    if isinstance(step.when, DelayedWhen):
        description += f" (at {format_moment(runs[0])} UTC)"
    note = timezone_note(step.when, now, step.tz)
    return ParsedWhen(step.when, when_text, step.rest, description, runs, note)


def _parse_relative(keyword: str, rest: str, tz: str | None) -> _Step | WhenError:
    """`every 30m` (interval) and `in 45m` (delay): both count from now, so no time of day."""
    seconds = _duration(rest, keyword)
    if isinstance(seconds, WhenError):
        return seconds
    word, after = _pop(seconds[1])
    if word.lower() == "at" and re.match(r"\d{1,2}:\d", _pop(after)[0]):
        return WhenError(
            f"`{keyword}` counts from now, so it cannot also have a time of day. For fixed times"
            f" use `at tomorrow 09:00`, `daily 09:00`, `weekly mon 09:00` or {CRON_EXAMPLE}."
        )
    if keyword == "in":
        return _Step(DelayedWhen(delay_in_seconds=seconds[0]), seconds[1], tz)
    return _Step(IntervalWhen(interval_seconds=seconds[0]), seconds[1], tz)


def _parse_at(rest: str, now: datetime, tz: str | None) -> _Step | WhenError:
    """`at [YYYY-MM-DD|today|tomorrow] HH:MM [UTC]`, in the user's zone unless `UTC` is said."""
    formats = "write `at 09:00`, `at tomorrow 09:00` or `at 2026-12-01 09:00` (24-hour)"
    word, after = _pop(rest)
    relative, day = "", None
    if word.lower() in ("today", "tomorrow"):
        relative = word.lower()
        word, after = _pop(after)
    elif stamp := _DATETIME.fullmatch(word):
        try:
            day = date(int(stamp[1]), int(stamp[2]), int(stamp[3]))
        except ValueError:
            return WhenError(f"{_code(word)} is not a real date; {formats}.")
        word = stamp[4] or ""
        if not word:
            word, after = _pop(after)
    if not word or not (relative or day or _TIME.fullmatch(word)):
        return WhenError(
            f"{_code(word) + ' is not a date or time' if word else '`at` needs a time'}; {formats}."
        )
    clock, follow = _parse_time(word, "at"), _after_time(after)
    if isinstance(clock, WhenError):
        return clock
    if isinstance(follow, WhenError):
        return follow
    explicit_utc, after = follow
    zone: tzinfo = UTC if explicit_utc else (user_zone(tz) or UTC)
    tz = None if explicit_utc else tz
    local_now = now.astimezone(zone)
    if relative:
        day = local_now.date() + timedelta(days=relative == "tomorrow")
    local = datetime.combine(day or local_now.date(), clock, tzinfo=zone)
    if day is None and local <= local_now:  # bare `at HH:MM`: the next such time
        local = datetime.combine(local_now.date() + timedelta(days=1), clock, tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return WhenError(
            f"{clock:%H:%M} does not exist on {local:%Y-%m-%d} in {_code(str(tz))}: the clocks"
            " go forward then. Pick another time, e.g. an hour later."
        )
    moment, where = local.astimezone(UTC), _escape(f" {tz}" if tz else " UTC")
    if moment <= now:
        return WhenError(
            f"{format_moment(local)}{where} is in the past"
            f" (it is now {format_moment(local_now)}{where}). Pick a future time,"
            " e.g. `at tomorrow 09:00`."
        )
    if moment - now > _MAX_DELTA:
        return WhenError(
            f"{format_moment(local)}{where} is more than a year ahead; Handinger schedules at most"
            " 365 days ahead. Pick an earlier date."
        )
    return _Step(ScheduledWhen(date=moment), after, tz)


def _parse_weekly(rest: str, now: datetime, tz: str | None) -> _Step | WhenError:
    """`weekly mon 09:00`: cron `0 9 * * 1` (Sunday is 0), in UTC."""
    word, after = _pop(rest)
    if word.lower() not in _DAYS:
        return WhenError(
            f"{_code(word) + ' is not a day of the week. ' if word else ''}`weekly` needs a day and"
            " a time, e.g. `weekly mon 09:00` (days: mon, tue, wed, thu, fri, sat, sun)."
        )
    return _cron_at(after, f"weekly {word.lower()[:3]}", str(_DAYS[word.lower()]), tz)


def _parse_cron(rest: str, now: datetime, tz: str | None) -> _Step | WhenError:
    """`cron "0 9 * * 1-5"` (any quotes, Slack's curly ones too) or five unquoted fields."""
    text = rest.lstrip()
    if not text:
        return WhenError(f"`cron` needs a 5-field expression in quotes, e.g. {CRON_EXAMPLE}.")
    if text[0] in _QUOTES:
        end = text.find(_QUOTES[text[0]], 1)
        if end < 0:
            return WhenError(
                f"The cron expression has no closing quote; write e.g. {CRON_EXAMPLE}."
            )
        expression, after = text[1:end], text[end + 1 :]
    else:
        fields: list[str] = []
        after = text
        while len(fields) < 5 and (pair := _pop(after))[0]:
            fields, after = [*fields, pair[0]], pair[1]
        expression, extra = " ".join(fields), _pop(after)[0]
        if len(fields) == 5 and _CRON_NUMERIC.fullmatch(extra):
            return WhenError(
                f"{_code(expression + ' ' + extra)} looks like more than 5 fields. Handinger takes"
                f" exactly 5 (minute hour day month weekday); quote them, e.g. {CRON_EXAMPLE}."
            )
    problem = _cron_problem(expression)
    if problem:
        return WhenError(problem)
    return _Step(CronWhen(cron=" ".join(expression.split())), after, tz)


_PARSERS: dict[str, _Parser] = {
    "every": lambda rest, now, tz: _parse_relative("every", rest, tz),
    "in": lambda rest, now, tz: _parse_relative("in", rest, tz),
    "at": _parse_at,
    "daily": lambda rest, now, tz: _cron_at(rest, "daily", "*", tz),
    "weekdays": lambda rest, now, tz: _cron_at(rest, "weekdays", "1-5", tz),
    "weekly": _parse_weekly,
    "hourly": lambda rest, now, tz: _Step(CronWhen(cron="0 * * * *"), rest, tz),
    "cron": _parse_cron,
}


def _duration(rest: str, keyword: str) -> tuple[int, str] | WhenError:
    """`30m`, `30 minutes` or a bare unit (`hour` is 1 hour), within the API's 1 s to 365 days."""
    word, after = _pop(rest)
    example = f"e.g. `{keyword} 30m` or `{keyword} 2h`"
    number = _NUMBER.fullmatch(word.lower())
    if word.lower() in _UNITS:
        amount, unit = "1", word.lower()
    elif number:
        amount, unit = number.groups()
        if not unit:
            unit_word, after = _pop(after)
            unit = unit_word.lower()
    else:
        shown = _code(word) + " is not" if word else f"`{keyword}` needs"
        return WhenError(f"{shown} an amount of time, {example}.")
    if not unit:
        return WhenError(f"{_code(word)} needs a unit: `s`, `m`, `h`, `d` or `w`, {example}.")
    if unit not in _UNITS:
        monthly = ' Months vary in length: for monthly runs use `cron "0 9 1 * *"`.'
        return WhenError(
            f"{_code(unit)} is not a time unit. Use `s`, `m` (or `min`), `h`, `d` or `w`,"
            f" {example}.{monthly if unit.startswith('mo') else ''}"
        )
    used = rest[: len(rest) - len(after)].strip()
    if not amount.isdigit() or int(amount) == 0:
        return WhenError(f"{_code(used)} is not a positive whole amount of time; {example}.")
    seconds = int(amount) * _UNITS[unit]
    if seconds > MAX_SCHEDULE_SECONDS:
        return WhenError(
            f"{_code(used)} is too long: Handinger allows from 1 second up to 365 days"
            f" ({MAX_SCHEDULE_SECONDS:,} seconds), e.g. `{keyword} 30d`."
        )
    return seconds, after


def _parse_time(word: str, prefix: str) -> time | WhenError:
    """24-hour `HH:MM` (or `H:MM`); anything else gets the format and an example."""
    example = f"e.g. `{prefix} 09:00` or `{prefix} 17:30`"
    match = _TIME.fullmatch(word)
    if not match:
        shown = _code(word) + " is not a time" if word else f"`{prefix.split()[0]}` needs a time"
        return WhenError(f"{shown}; write 24-hour `HH:MM`, {example}.")
    if int(match[1]) > 23 or int(match[2]) > 59:
        return WhenError(
            f"{_code(word)} is not a valid time: hours go from 00 to 23 and minutes from 00 to 59;"
            f" {example}."
        )
    return time(int(match[1]), int(match[2]))


def _after_time(rest: str) -> tuple[bool, str] | WhenError:
    """Refuse am/pm (24-hour only) and take an explicit `UTC`, which says how to read the time."""
    word, after = _pop(rest)
    if word.lower().replace(".", "") in ("am", "pm"):
        return WhenError("Use 24-hour time: `09:00` for 9 am, `21:00` for 9 pm.")
    if word.lower() in ("utc", "z", "gmt"):
        return True, after
    return False, rest


def _cron_at(rest: str, prefix: str, weekday: str, tz: str | None) -> _Step | WhenError:
    """The shared tail of daily, weekdays and weekly: `[at] HH:MM [UTC]` into a UTC cron."""
    word, after = _pop(rest)
    if word.lower() == "at":
        word, after = _pop(after)
    clock, follow = _parse_time(word, prefix), _after_time(after)
    if isinstance(clock, WhenError):
        return clock
    if isinstance(follow, WhenError):
        return follow
    return _Step(CronWhen(cron=f"{clock.minute} {clock.hour} * * {weekday}"), follow[1], tz)


def _cron_problem(expression: str) -> str | None:
    """Why Handinger would refuse this cron: exactly 5 standard fields, no extensions."""
    fields = expression.split()
    shown = _code(" ".join(fields) or expression)
    if len(fields) != 5:
        return (
            f"{shown} has {len(fields)} field{'' if len(fields) == 1 else 's'}, but Handinger"
            f" needs exactly 5: minute hour day-of-month month day-of-week, e.g. {CRON_EXAMPLE}."
        )
    standard = True
    for position, field in enumerate(f.lower() for f in fields):
        names = _MONTHS if position == 3 else _DAY_KEYS if position == 4 else ()
        standard &= bool(_CRON_FIELD.fullmatch(field))
        standard &= all(word in names for word in re.findall(r"[a-z]+", field))
    if not standard or not croniter.is_valid(" ".join(fields)):
        return (
            f"{shown} is not a valid cron expression (5 fields: minute hour day-of-month month"
            f" day-of-week, in UTC). Write e.g. {CRON_EXAMPLE}."
        )
    return None


def _pop(text: str) -> tuple[str, str]:
    """First word and the untouched rest, so a multi-line instruction keeps its layout."""
    match = _TOKEN.match(text)
    return (match[1], match[2]) if match else ("", "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    """User text in an error: short, escaped, and unable to close its code span."""
    short = text if len(text) <= 80 else text[:79] + "…"
    return "`" + _escape(short.replace("`", "'")) + "`"
