"""Parse the `<when>` of `/handinger schedule <when> <instruction>`.

Pure functions: no I/O and no clock reads (`now` is passed in), so confirmations are exact and
tests deterministic. Everything is checked here against the API's limits and the shortest
interval allowed between runs (`when_gaps`), so a bad `<when>` costs no API call; what a valid
one means in run times and words comes from `when_times`.
A `WhenError` is data (what is wrong, and the user's words it is about, raw); the Slack adapter
words it (`bot/slack/when_wording.py`). The text fields of `ParsedSchedule` are plain text,
escaped by whoever renders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from croniter import croniter

from ..handinger.models import (
    MAX_SCHEDULE_SECONDS,
    CronWhen,
    DelayedWhen,
    IntervalWhen,
    ScheduledWhen,
    When,
)
from .when_gaps import shortest_gap
from .when_times import (
    DAY_NAMES,
    as_utc,
    describe_when,
    format_moment,
    next_runs,
    user_zone,
)


@dataclass(frozen=True)
class ParsedSchedule:
    """A valid `<when>`, its instruction, and how listings describe it."""

    when: When
    instruction: str
    description: str


@dataclass(frozen=True)
class ParsedWhen:
    """A valid `<when>` (`text`, as typed) and the `rest` of the text after it, untouched."""

    when: When
    text: str
    rest: str
    description: str

    def with_instruction(self, instruction: str) -> ParsedSchedule | WhenError:
        """The schedule of this `<when>` with `instruction`, which must say something."""
        if not instruction.strip():
            return WhenError("no_instruction", self.text)
        return ParsedSchedule(self.when, instruction.strip(), self.description)


WhenProblem = Literal[
    "empty",
    "unknown_keyword",
    "no_instruction",
    "never_runs",
    "too_often",
    "relative_with_time",
    "not_a_date",
    "not_a_date_or_time",
    "nonexistent_time",
    "past",
    "too_far",
    "not_a_day",
    "cron_empty",
    "cron_unclosed",
    "cron_extra_field",
    "cron_field_count",
    "cron_invalid",
    "no_amount",
    "no_unit",
    "not_a_unit",
    "not_positive",
    "too_long",
    "not_a_time",
    "time_out_of_range",
    "am_pm",
]


@dataclass(frozen=True)
class WhenError:
    """Why the text is not a schedule, as data: `problem` says what is wrong, `text` is the
    user's words it is about (raw, untrusted; may be empty), `keyword` the form being written
    (`every`, `daily`…). The rest is set only by the problems that need it: `count` (a cron's
    fields), `moment`/`now` (local times) in `zone`, and for `too_often` the `when`, its `gap`
    and the `minimum`."""

    problem: WhenProblem
    text: str = ""
    keyword: str = ""
    count: int = 0
    moment: datetime | None = None
    now: datetime | None = None
    zone: str | None = None
    when: When | None = None
    gap: timedelta | None = None
    minimum: timedelta | None = None


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
        return WhenError("empty")
    keyword, rest = _pop(text)
    parser = _PARSERS.get(keyword.lower())
    if parser is None:
        return WhenError("unknown_keyword", keyword)
    step = parser(rest, now, tz if user_zone(tz) is not None else None)
    if isinstance(step, WhenError):
        return step
    when_text = text[: len(text) - len(step.rest)].strip()
    runs = next_runs(step.when, now)
    if not runs:
        return WhenError("never_runs", when_text)
    gap = shortest_gap(step.when, now)
    if minimum is not None and gap is not None and gap < minimum:
        return WhenError("too_often", when_text, when=step.when, gap=gap, minimum=minimum)
    description = describe_when(step.when, step.tz)
    if isinstance(step.when, DelayedWhen):
        description += f" (at {format_moment(runs[0])} UTC)"
    return ParsedWhen(step.when, when_text, step.rest, description)


def _parse_relative(keyword: str, rest: str, tz: str | None) -> _Step | WhenError:
    """`every 30m` (interval) and `in 45m` (delay): both count from now, so no time of day."""
    seconds = _duration(rest, keyword)
    if isinstance(seconds, WhenError):
        return seconds
    word, after = _pop(seconds[1])
    if word.lower() == "at" and re.match(r"\d{1,2}:\d", _pop(after)[0]):
        return WhenError("relative_with_time", keyword=keyword)
    if keyword == "in":
        return _Step(DelayedWhen(delay_in_seconds=seconds[0]), seconds[1], tz)
    return _Step(IntervalWhen(interval_seconds=seconds[0]), seconds[1], tz)


def _parse_at(rest: str, now: datetime, tz: str | None) -> _Step | WhenError:
    """`at [YYYY-MM-DD|today|tomorrow] HH:MM [UTC]`, in the user's zone unless `UTC` is said."""
    word, after = _pop(rest)
    relative, day = "", None
    if word.lower() in ("today", "tomorrow"):
        relative = word.lower()
        word, after = _pop(after)
    elif stamp := _DATETIME.fullmatch(word):
        try:
            day = date(int(stamp[1]), int(stamp[2]), int(stamp[3]))
        except ValueError:
            return WhenError("not_a_date", word)
        word = stamp[4] or ""
        if not word:
            word, after = _pop(after)
    if not word or not (relative or day or _TIME.fullmatch(word)):
        return WhenError("not_a_date_or_time", word)
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
        return WhenError("nonexistent_time", moment=local, zone=str(tz))
    moment = local.astimezone(UTC)
    if moment <= now:
        return WhenError("past", moment=local, now=local_now, zone=tz)
    if moment - now > _MAX_DELTA:
        return WhenError("too_far", moment=local, zone=tz)
    return _Step(ScheduledWhen(date=moment), after, tz)


def _parse_weekly(rest: str, now: datetime, tz: str | None) -> _Step | WhenError:
    """`weekly mon 09:00`: cron `0 9 * * 1` (Sunday is 0), in UTC."""
    word, after = _pop(rest)
    if word.lower() not in _DAYS:
        return WhenError("not_a_day", word)
    return _cron_at(after, f"weekly {word.lower()[:3]}", str(_DAYS[word.lower()]), tz)


def _parse_cron(rest: str, now: datetime, tz: str | None) -> _Step | WhenError:
    """`cron "0 9 * * 1-5"` (any quotes, Slack's curly ones too) or five unquoted fields."""
    text = rest.lstrip()
    if not text:
        return WhenError("cron_empty")
    if text[0] in _QUOTES:
        end = text.find(_QUOTES[text[0]], 1)
        if end < 0:
            return WhenError("cron_unclosed")
        expression, after = text[1:end], text[end + 1 :]
    else:
        fields: list[str] = []
        after = text
        while len(fields) < 5 and (pair := _pop(after))[0]:
            fields, after = [*fields, pair[0]], pair[1]
        expression, extra = " ".join(fields), _pop(after)[0]
        if len(fields) == 5 and _CRON_NUMERIC.fullmatch(extra):
            return WhenError("cron_extra_field", f"{expression} {extra}")
    problem = _cron_problem(expression)
    if problem is not None:
        return problem
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
    number = _NUMBER.fullmatch(word.lower())
    if word.lower() in _UNITS:
        amount, unit = "1", word.lower()
    elif number:
        amount, unit = number.groups()
        if not unit:
            unit_word, after = _pop(after)
            unit = unit_word.lower()
    else:
        return WhenError("no_amount", word, keyword)
    if not unit:
        return WhenError("no_unit", word, keyword)
    if unit not in _UNITS:
        return WhenError("not_a_unit", unit, keyword)
    used = rest[: len(rest) - len(after)].strip()
    if not amount.isdigit() or int(amount) == 0:
        return WhenError("not_positive", used, keyword)
    seconds = int(amount) * _UNITS[unit]
    if seconds > MAX_SCHEDULE_SECONDS:
        return WhenError("too_long", used, keyword)
    return seconds, after


def _parse_time(word: str, prefix: str) -> time | WhenError:
    """24-hour `HH:MM` (or `H:MM`); anything else gets the format and an example."""
    match = _TIME.fullmatch(word)
    if not match:
        return WhenError("not_a_time", word, prefix)
    if int(match[1]) > 23 or int(match[2]) > 59:
        return WhenError("time_out_of_range", word, prefix)
    return time(int(match[1]), int(match[2]))


def _after_time(rest: str) -> tuple[bool, str] | WhenError:
    """Refuse am/pm (24-hour only) and take an explicit `UTC`, which says how to read the time."""
    word, after = _pop(rest)
    if word.lower().replace(".", "") in ("am", "pm"):
        return WhenError("am_pm")
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


def _cron_problem(expression: str) -> WhenError | None:
    """Why Handinger would refuse this cron: exactly 5 standard fields, no extensions."""
    fields = expression.split()
    shown = " ".join(fields) or expression
    if len(fields) != 5:
        return WhenError("cron_field_count", shown, count=len(fields))
    standard = True
    for position, field in enumerate(f.lower() for f in fields):
        names = _MONTHS if position == 3 else _DAY_KEYS if position == 4 else ()
        standard &= bool(_CRON_FIELD.fullmatch(field))
        standard &= all(word in names for word in re.findall(r"[a-z]+", field))
    if not standard or not croniter.is_valid(" ".join(fields)):
        return WhenError("cron_invalid", shown)
    return None


def _pop(text: str) -> tuple[str, str]:
    """First word and the untouched rest, so a multi-line instruction keeps its layout."""
    match = _TOKEN.match(text)
    return (match[1], match[2]) if match else ("", "")
