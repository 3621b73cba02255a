"""How often a repeating schedule runs: the shortest time between two consecutive runs.

An interval's gap is the interval. A cron expression's gaps vary (`0,1 9 * * *` runs twice a
minute apart, then waits a day), so the first gap says little. Cron fires at the same times of
day on every day it fires, so its gaps are those between the times of one day, plus the gap from
one firing day's last time to the next firing day's first. The times of day are one day's runs;
the days come from croniter over a window of four years, which holds a leap day. Pure: the
start of the window is passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from croniter import CroniterError, croniter

from ..handinger.models import CronWhen, IntervalWhen, When

MINIMUM_SETTING = "HANDINGER_MIN_SCHEDULE_INTERVAL"
"""The setting that holds the shortest time allowed between two runs of a repeating schedule."""

DAY_WINDOW = timedelta(days=4 * 365 + 1)
"""How far ahead firing days are looked for: four years, so one of them has a 29 February."""
_ANY_DAY = datetime(2001, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)


def shortest_gap(when: When, now: datetime) -> timedelta | None:
    """The shortest time between two consecutive runs; None when it does not repeat (a one-shot
    schedule, or a cron that fires once in the window)."""
    if isinstance(when, IntervalWhen):
        return timedelta(seconds=when.interval_seconds)
    if not isinstance(when, CronWhen):
        return None
    fields = when.cron.split()
    if len(fields) != 5:
        return None
    minute, hour, day, month, weekday = fields
    try:
        times = _times_of_day(f"{minute} {hour} * * *")
        days = _shortest_day_gap(f"0 0 {day} {month} {weekday}", now)
    except (CroniterError, ValueError):
        return None  # the parser refuses such expressions before asking
    gaps = [later - earlier for earlier, later in pairwise(times)]
    if days is not None and times:
        gaps.append(days - times[-1] + times[0])
    return min(gaps, default=None)


def _times_of_day(expression: str) -> list[timedelta]:
    """The times after midnight at which a `M H * * *` expression fires, in order."""
    runs = croniter(expression, _ANY_DAY - _MINUTE)
    times: list[timedelta] = []
    while (moment := runs.get_next(datetime)) < _ANY_DAY + _DAY:
        times.append(moment - _ANY_DAY)
        if len(times) >= 2 and times[-1] - times[-2] == _MINUTE:
            break  # no gap is shorter than a minute; the rest of the day cannot lower it
    return times


def _shortest_day_gap(expression: str, now: datetime) -> timedelta | None:
    """The fewest days between two consecutive firing days of `0 0 D M W` within the window."""
    runs = croniter(expression, now)
    end = now + DAY_WINDOW
    shortest: timedelta | None = None
    previous = runs.get_next(datetime)
    while shortest != _DAY and (moment := runs.get_next(datetime)) <= end:
        gap = moment - previous
        shortest = gap if shortest is None else min(shortest, gap)
        previous = moment
    return shortest
