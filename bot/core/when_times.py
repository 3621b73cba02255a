"""The times a `When` stands for, and how to say them: next runs, descriptions, zone notes.

Pure functions: no I/O and no clock reads (`now` is passed in). Shared by the `<when>` parser's
confirmation and by the schedule watcher, so both agree with the API on when a schedule runs.
All text here is plain text, escaped by whoever renders it.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterError, croniter

from ..handinger.models import DelayedWhen, IntervalWhen, ScheduledWhen, When

DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_UNIT_NAMES = ((604_800, "week"), (86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second"))
_UTC_ZONES = ("utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "universal", "etc/universal")


def next_runs(when: When, now: datetime, count: int = 3) -> list[datetime]:
    """The next run times as the API computes them (UTC, aware); one for one-shot schedules."""
    now = as_utc(now)
    if count < 1:
        return []
    if isinstance(when, ScheduledWhen):
        return [as_utc(when.date)]
    if isinstance(when, DelayedWhen):
        return [now + timedelta(seconds=when.delay_in_seconds)]
    if isinstance(when, IntervalWhen):
        return [now + timedelta(seconds=when.interval_seconds * k) for k in range(1, count + 1)]
    runs: list[datetime] = []
    try:
        times = croniter(when.cron, now)
        while len(runs) < count:
            runs.append(as_utc(times.get_next(datetime)))
    except (CroniterError, ValueError):
        pass  # an expression that never matches a real date has no (further) runs
    return runs


def describe_when(when: When, tz: str | None = None) -> str:
    """Plain-text description, the same in the confirmation and in later listings."""
    if isinstance(when, IntervalWhen):
        return f"every {duration_text(when.interval_seconds, bare_one=True)}"
    if isinstance(when, DelayedWhen):
        return f"once, in {duration_text(when.delay_in_seconds)}"
    if isinstance(when, ScheduledWhen):
        moment, zone = as_utc(when.date), user_zone(tz)
        if zone is None:
            return f"once, at {format_moment(moment)} UTC"
        return f"once, at {format_moment(moment.astimezone(zone))} {tz} ({_utc_part(moment, zone)})"
    return _describe_shortcut(when.cron) or describe_cron(when.cron)


def describe_cron(expression: str) -> str:
    """cron-descriptor's English in 24-hour time, whatever the host's locale, marked UTC."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 2.x warns when the host has no locale; we set one
        options = Options()
    options.locale_code, options.use_24hour_time_format, options.verbose = "en_US", True, False
    try:
        text = str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # the library raises its own zoo of errors; describing must not fail
        return f"cron {' '.join(expression.split())} (UTC)"
    return f"{text[:1].lower()}{text[1:]} (UTC)"


def format_moment(moment: datetime) -> str:
    """`2026-12-01 09:00`, with seconds only when there are some."""
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")


def user_zone(tz: str | None) -> ZoneInfo | None:
    """The user's zone, or None for UTC and for a name this system does not know."""
    if not tz or tz.strip().lower() in _UTC_ZONES:
        return None
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC, as the request models do."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _describe_shortcut(expression: str) -> str | None:
    """Our own words for what `daily`, `weekdays`, `weekly` and `hourly` produce."""
    expression = " ".join(expression.split())
    if expression == "0 * * * *":
        return "every hour, on the hour"
    match = re.fullmatch(r"(\d{1,2}) (\d{1,2}) \* \* (\*|1-5|[0-6])", expression)
    if not match or int(match[1]) > 59 or int(match[2]) > 23:
        return None
    days = {"*": "day", "1-5": "weekday"}.get(match[3]) or DAY_NAMES[int(match[3])]
    return f"every {days} at {int(match[2]):02}:{int(match[1]):02} UTC"


def duration_text(seconds: int, bare_one: bool = False) -> str:
    """`30 minutes`, `1 hour` (or `hour` after "every"), in the largest unit that divides."""
    size, name = next((s, n) for s, n in _UNIT_NAMES if seconds % s == 0)
    count = seconds // size
    if count == 1:
        return name if bare_one else f"1 {name}"
    return f"{count} {name}s"


def short_duration(length: timedelta) -> str:
    """`15m`, `2h`, `90s`: the form `every …` takes, in the largest unit that divides."""
    seconds = int(length.total_seconds())
    size, name = next((s, n) for s, n in _UNIT_NAMES if seconds % s == 0)
    return f"{seconds // size}{name[0]}"


def _utc_part(moment: datetime, zone: tzinfo) -> str:
    """`08:00 UTC`, with the date too when it differs from the local date."""
    same_day = moment.astimezone(zone).date() == moment.date()
    return f"{moment:%H:%M} UTC" if same_day else f"{format_moment(moment)} UTC"
