"""`<when>` parsing and description: every form, every error, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.when import ParsedSchedule, WhenError, parse_schedule
from bot.core.when_gaps import shortest_gap
from bot.core.when_times import describe_cron, describe_when, next_runs
from bot.handinger.models import CronWhen, DelayedWhen, IntervalWhen, ScheduledWhen, When
from bot.slack.when_wording import when_error_text

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # a Saturday afternoon


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def ok(text: str, tz: str | None = None, now: datetime = NOW) -> ParsedSchedule:
    result = parse_schedule(text, now, tz)
    assert isinstance(result, ParsedSchedule), result
    return result


def error(text: str, tz: str | None = None, now: datetime = NOW) -> str:
    result = parse_schedule(text, now, tz)
    assert isinstance(result, WhenError), result
    return when_error_text(result)


# ---- intervals and delays -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "description"),
    [
        ("every 30m check the news", 1_800, "every 30 minutes"),
        ("every 30 minutes check the news", 1_800, "every 30 minutes"),
        ("EVERY 30 Min check the news", 1_800, "every 30 minutes"),
        ("every 45s check the news", 45, "every 45 seconds"),
        ("every 2h check the news", 7_200, "every 2 hours"),
        ("every 2 hours check the news", 7_200, "every 2 hours"),
        ("every 90m check the news", 5_400, "every 90 minutes"),
        ("every 1d check the news", 86_400, "every day"),
        ("every day check the news", 86_400, "every day"),
        ("every 3 days check the news", 259_200, "every 3 days"),
        ("every week check the news", 604_800, "every week"),
        ("every 2w check the news", 1_209_600, "every 2 weeks"),
        ("every 14d check the news", 1_209_600, "every 2 weeks"),
        ("every hour check the news", 3_600, "every hour"),
        ("every 1s check the news", 1, "every second"),
        ("every 365d check the news", 31_536_000, "every 365 days"),
    ],
)
def test_every(text: str, seconds: int, description: str) -> None:
    parsed = ok(text)
    assert parsed.when == IntervalWhen(interval_seconds=seconds)
    assert parsed.instruction == "check the news"
    assert parsed.description == description
    step = timedelta(seconds=seconds)
    assert next_runs(parsed.when, NOW) == [NOW + step, NOW + 2 * step, NOW + 3 * step]


def test_every_30m_next_runs_exactly() -> None:
    parsed = ok("every 30m summarise #news", tz="Europe/Madrid")
    assert next_runs(parsed.when, NOW) == [
        at(2026, 11, 28, 15, 30),
        at(2026, 11, 28, 16),
        at(2026, 11, 28, 16, 30),
    ]
    assert parsed.when.model_dump(by_alias=True) == {"type": "interval", "intervalSeconds": 1800}


def test_instruction_keeps_its_own_layout() -> None:
    parsed = ok("every 2h  first line\n  second line  ")
    assert parsed.instruction == "first line\n  second line"


@pytest.mark.parametrize(
    ("text", "seconds", "description", "run"),
    [
        (
            "in 45m remind me",
            2_700,
            "once, in 45 minutes (at 2026-11-28 15:45 UTC)",
            at(2026, 11, 28, 15, 45),
        ),
        (
            "in 1 hour remind me",
            3_600,
            "once, in 1 hour (at 2026-11-28 16:00 UTC)",
            at(2026, 11, 28, 16),
        ),
        (
            "in 2d remind me",
            172_800,
            "once, in 2 days (at 2026-11-30 15:00 UTC)",
            at(2026, 11, 30, 15),
        ),
        (
            "in 90s remind me",
            90,
            "once, in 90 seconds (at 2026-11-28 15:01:30 UTC)",
            at(2026, 11, 28, 15, 1, 30),
        ),
    ],
)
def test_in(text: str, seconds: int, description: str, run: datetime) -> None:
    parsed = ok(text)
    assert parsed.when == DelayedWhen(delay_in_seconds=seconds)
    assert parsed.instruction == "remind me"
    assert parsed.description == description
    assert next_runs(parsed.when, NOW) == [run]


# ---- at ---------------------------------------------------------------------------------------


def test_at_date_time_in_utc() -> None:
    parsed = ok("at 2026-12-01 09:00 send the report")
    assert parsed.when == ScheduledWhen(date=at(2026, 12, 1, 9))
    assert parsed.when.model_dump(by_alias=True, mode="json") == {
        "type": "scheduled",
        "date": "2026-12-01T09:00:00.000Z",
    }
    assert parsed.instruction == "send the report"
    assert parsed.description == "once, at 2026-12-01 09:00 UTC"
    assert next_runs(parsed.when, NOW) == [at(2026, 12, 1, 9)]


def test_at_date_time_in_the_users_zone() -> None:
    parsed = ok("at 2026-12-01 09:00 send the report", tz="Europe/Madrid")
    assert parsed.when == ScheduledWhen(date=at(2026, 12, 1, 8))
    assert parsed.description == "once, at 2026-12-01 09:00 Europe/Madrid (08:00 UTC)"


def test_at_iso_t_separator() -> None:
    assert ok("at 2026-12-01T09:00 go").when == ScheduledWhen(date=at(2026, 12, 1, 9))


def test_at_across_dst_uses_the_offset_of_that_day() -> None:
    # Madrid is UTC+1 in winter and UTC+2 from 2027-03-28.
    winter = ok("at 2027-03-27 09:00 go", tz="Europe/Madrid")
    summer = ok("at 2027-03-29 09:00 go", tz="Europe/Madrid")
    assert winter.when == ScheduledWhen(date=at(2027, 3, 27, 8))
    assert summer.when == ScheduledWhen(date=at(2027, 3, 29, 7))


def test_at_tomorrow_the_night_before_a_dst_change() -> None:
    now = at(2027, 3, 27, 20)  # 21:00 in Madrid, winter time
    parsed = ok("at tomorrow 09:00 go", tz="Europe/Madrid", now=now)
    assert parsed.when == ScheduledWhen(date=at(2027, 3, 28, 7))


def test_at_a_time_that_the_clocks_skip_is_refused() -> None:
    message = error("at 2027-03-28 02:30 go", tz="Europe/Madrid")
    assert "02:30 does not exist on 2027-03-28" in message
    assert "`Europe/Madrid`" in message


def test_at_an_ambiguous_time_takes_the_first_one() -> None:
    parsed = ok("at 2027-10-31 02:30 go", tz="Europe/Madrid")  # clocks go back at 03:00 CEST
    assert parsed.when == ScheduledWhen(date=at(2027, 10, 31, 0, 30))


def test_at_a_local_time_whose_utc_date_differs() -> None:
    parsed = ok("at 2026-12-01 00:30 go", tz="Europe/Madrid")
    assert parsed.when == ScheduledWhen(date=at(2026, 11, 30, 23, 30))


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("at 16:00 go", None, at(2026, 11, 28, 16)),  # still ahead today
        ("at 9:00 go", None, at(2026, 11, 29, 9)),  # already past: tomorrow
        ("at 15:00 go", None, at(2026, 11, 29, 15)),  # exactly now is not ahead
        ("at 16:30 go", "Europe/Madrid", at(2026, 11, 28, 15, 30)),  # 16:00 in Madrid now
        ("at 16:00 go", "Europe/Madrid", at(2026, 11, 29, 15)),
        ("at 09:00 go", "America/New_York", at(2026, 11, 29, 14)),
        ("at 23:00 go", "Asia/Tokyo", at(2026, 11, 29, 14)),  # Tokyo is already on the 29th
        ("at tomorrow 09:00 go", None, at(2026, 11, 29, 9)),
        ("at tomorrow 09:00 go", "Asia/Kolkata", at(2026, 11, 29, 3, 30)),
        ("at today 18:00 go", None, at(2026, 11, 28, 18)),
        ("at 09:00 UTC go", "Europe/Madrid", at(2026, 11, 29, 9)),
    ],
)
def test_at_time_means_the_next_such_time(text: str, tz: str | None, expected: datetime) -> None:
    parsed = ok(text, tz=tz)
    assert parsed.when == ScheduledWhen(date=expected)
    assert next_runs(parsed.when, NOW) == [expected]
    assert parsed.instruction == "go"


def test_at_with_explicit_utc_says_utc() -> None:
    parsed = ok("at 09:00 UTC go", tz="Europe/Madrid")
    assert parsed.description == "once, at 2026-11-29 09:00 UTC"


def test_at_with_a_utc_profile_or_an_unknown_zone_is_utc() -> None:
    assert ok("at 16:00 go", tz="UTC").when == ScheduledWhen(date=at(2026, 11, 28, 16))
    unknown = ok("at 16:00 go", tz="Mars/Olympus_Mons")
    assert unknown.when == ScheduledWhen(date=at(2026, 11, 28, 16))


# ---- cron shortcuts and cron ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cron", "description", "runs"),
    [
        (
            "daily 09:00 digest",
            "0 9 * * *",
            "every day at 09:00 UTC",
            [at(2026, 11, 29, 9), at(2026, 11, 30, 9), at(2026, 12, 1, 9)],
        ),
        (
            "daily at 17:30 digest",
            "30 17 * * *",
            "every day at 17:30 UTC",
            [at(2026, 11, 28, 17, 30), at(2026, 11, 29, 17, 30), at(2026, 11, 30, 17, 30)],
        ),
        (
            "weekdays 09:00 digest",
            "0 9 * * 1-5",
            "every weekday at 09:00 UTC",
            [at(2026, 11, 30, 9), at(2026, 12, 1, 9), at(2026, 12, 2, 9)],  # Mon, Tue, Wed
        ),
        (
            "weekly mon 09:00 digest",
            "0 9 * * 1",
            "every Monday at 09:00 UTC",
            [at(2026, 11, 30, 9), at(2026, 12, 7, 9), at(2026, 12, 14, 9)],
        ),
        (
            "weekly Sunday 8:05 digest",
            "5 8 * * 0",
            "every Sunday at 08:05 UTC",
            [at(2026, 11, 29, 8, 5), at(2026, 12, 6, 8, 5), at(2026, 12, 13, 8, 5)],
        ),
        (
            "weekly sat 16:00 digest",
            "0 16 * * 6",
            "every Saturday at 16:00 UTC",
            [at(2026, 11, 28, 16), at(2026, 12, 5, 16), at(2026, 12, 12, 16)],
        ),
        (
            "weekly thursday 12:00 digest",
            "0 12 * * 4",
            "every Thursday at 12:00 UTC",
            [at(2026, 12, 3, 12), at(2026, 12, 10, 12), at(2026, 12, 17, 12)],
        ),
        (
            "hourly digest",
            "0 * * * *",
            "every hour, on the hour",
            [at(2026, 11, 28, 16), at(2026, 11, 28, 17), at(2026, 11, 28, 18)],
        ),
    ],
)
def test_cron_shortcuts(text: str, cron: str, description: str, runs: list[datetime]) -> None:
    parsed = ok(text)
    assert parsed.when == CronWhen(cron=cron)
    assert parsed.instruction == "digest"
    assert parsed.description == description
    assert next_runs(parsed.when, NOW) == runs


def test_cron_shortcut_times_stay_utc() -> None:
    parsed = ok("daily 09:00 digest", tz="Europe/Madrid")
    assert parsed.when == CronWhen(cron="0 9 * * *")  # not converted from Madrid time


@pytest.mark.parametrize(
    "text",
    [
        'cron "0 9 * * 1-5" digest',
        "cron '0 9 * * 1-5' digest",
        "cron “0 9 * * 1-5” digest",  # Slack's smart quotes
        "cron 0 9 * * 1-5 digest",
        'CRON "0  9 * *  1-5"   digest',
    ],
)
def test_cron_forms(text: str) -> None:
    parsed = ok(text)
    assert parsed.when == CronWhen(cron="0 9 * * 1-5")
    assert parsed.instruction == "digest"
    assert parsed.description == "every weekday at 09:00 UTC"
    assert next_runs(parsed.when, NOW) == [
        at(2026, 11, 30, 9),
        at(2026, 12, 1, 9),
        at(2026, 12, 2, 9),
    ]


@pytest.mark.parametrize(
    ("expression", "description", "runs"),
    [
        (
            "*/15 * * * *",
            "every 15 minutes (UTC)",
            [at(2026, 11, 28, 15, 15), at(2026, 11, 28, 15, 30), at(2026, 11, 28, 15, 45)],
        ),
        (
            "0 9 1 * *",
            "at 09:00, on day 1 of the month (UTC)",
            [at(2026, 12, 1, 9), at(2027, 1, 1, 9), at(2027, 2, 1, 9)],
        ),
        (
            "30 6 * * mon-fri",
            "at 06:30, Monday through Friday (UTC)",
            [at(2026, 11, 30, 6, 30), at(2026, 12, 1, 6, 30), at(2026, 12, 2, 6, 30)],
        ),
        (
            "0 0 29 2 *",
            "at 00:00, on day 29 of the month, only in February (UTC)",
            [at(2028, 2, 29), at(2032, 2, 29), at(2036, 2, 29)],
        ),
    ],
)
def test_cron_general(expression: str, description: str, runs: list[datetime]) -> None:
    parsed = ok(f'cron "{expression}" digest')
    assert parsed.when == CronWhen(cron=expression)
    assert parsed.description == description
    assert next_runs(parsed.when, NOW) == runs


# ---- errors -----------------------------------------------------------------------------------


def test_empty_text_shows_usage_and_forms() -> None:
    for text in ("", "   \n "):
        message = error(text)
        assert "&lt;when&gt; &lt;instruction&gt;" in message
        assert "`every 30m`" in message and 'cron "0 9 * * 1-5"' in message


def test_unknown_keyword_lists_the_forms() -> None:
    message = error("sometimes do things")
    assert message.startswith("`sometimes` is not a way to say when")
    for form in ("`every 30m`", "`in 45m`", "`at 09:00`", "`daily 09:00`", "`weekly mon 09:00`"):
        assert form in message


@pytest.mark.parametrize("text", ["every 0m x", "every 0 minutes x", "in 0s x", "every -5m x"])
def test_zero_or_negative_amounts(text: str) -> None:
    message = error(text)
    assert "is not a positive whole amount of time" in message
    assert "e.g. `every 30m`" in message or "e.g. `in 30m`" in message


def test_fractional_amount() -> None:
    assert error("every 1.5h x").startswith("`1.5h` is not a positive whole amount of time")


@pytest.mark.parametrize(
    ("text", "unit"),
    [("every 5 parsecs x", "parsecs"), ("in 3y x", "y"), ("every 30 check", "check")],
)
def test_unknown_unit(text: str, unit: str) -> None:
    message = error(text)
    assert message.startswith(f"`{unit}` is not a time unit")
    assert "`s`, `m` (or `min`), `h`, `d` or `w`" in message


def test_months_point_to_cron() -> None:
    assert 'cron "0 9 1 * *"' in error("every 2 months x")


def test_missing_amount_or_unit() -> None:
    assert error("every") == "`every` needs an amount of time, e.g. `every 30m` or `every 2h`."
    assert error("in 30").startswith("`30` needs a unit")
    assert error("every soon x").startswith("`soon` is not an amount of time")


@pytest.mark.parametrize("text", ["every 366d x", "in 53w x", "every 31536001s x"])
def test_out_of_range(text: str) -> None:
    message = error(text)
    assert "is too long" in message
    assert "from 1 second up to 365 days (31,536,000 seconds)" in message


def test_interval_with_a_time_of_day_is_refused() -> None:
    message = error("every day at 09:00 digest")
    assert "cannot also have a time of day" in message and "`daily 09:00`" in message
    assert "`in` counts from now" in error("in 2d at 09:00 go")
    assert ok("every 30m at least check the news").instruction == "at least check the news"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("at 25:00 go", "`25:00`"),
        ("at 9:75 go", "`9:75`"),
        ("daily 24:00 go", "`24:00`"),
        ("weekdays 9:60 go", "`9:60`"),
    ],
)
def test_invalid_times(text: str, shown: str) -> None:
    message = error(text)
    assert message.startswith(f"{shown} is not a valid time: hours go from 00 to 23")
    assert "09:00" in message


def test_time_formats_that_are_not_24_hour() -> None:
    assert "is not a time; write 24-hour `HH:MM`, e.g. `daily 09:00`" in error("daily 9 go")
    assert error("at 9:00 pm go").startswith("Use 24-hour time")
    assert error("at 9pm go").startswith("`9pm` is not a date or time")
    assert error("daily") == (
        "`daily` needs a time; write 24-hour `HH:MM`, e.g. `daily 09:00` or `daily 17:30`."
    )
    assert error("at").startswith("`at` needs a time")


def test_invalid_dates() -> None:
    assert error("at 2026-02-30 09:00 go").startswith("`2026-02-30` is not a real date")
    assert error("at 2026-13-01 09:00 go").startswith("`2026-13-01` is not a real date")
    assert error("at 2026-12-01").startswith("`at` needs a time")


def test_past_and_far_future_dates() -> None:
    assert error("at 2026-11-28 14:59 go") == (
        "2026-11-28 14:59 UTC is in the past (it is now 2026-11-28 15:00 UTC)."
        " Pick a future time, e.g. `at tomorrow 09:00`."
    )
    madrid = error("at today 15:30 go", tz="Europe/Madrid")  # 16:00 there already
    assert madrid.startswith("2026-11-28 15:30 Europe/Madrid is in the past")
    assert "more than a year ahead" in error("at 2027-11-29 09:00 go")
    assert ok("at 2027-11-28 14:00 go").when == ScheduledWhen(date=at(2027, 11, 28, 14))


def test_weekly_needs_a_known_day() -> None:
    assert error("weekly 09:00 go").startswith("`09:00` is not a day of the week")
    assert "`weekly mon 09:00`" in error("weekly funday 09:00 go")
    assert error("weekly mon").startswith("`weekly` needs a time")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('cron "0 9 * *" go', "`0 9 * *` has 4 fields, but Handinger needs exactly 5"),
        ('cron "0 0 9 * * 1-5" go', "`0 0 9 * * 1-5` has 6 fields"),
        ('cron "@daily" go', "`@daily` has 1 field,"),
        ('cron "61 * * * *" go', "`61 * * * *` is not a valid cron expression"),
        ('cron "0 9 L * *" go', "`0 9 L * *` is not a valid cron expression"),
        ('cron "0 9 ? * *" go', "`0 9 ? * *` is not a valid cron expression"),
        ('cron "R * * * *" go', "`R * * * *` is not a valid cron expression"),
        ('cron "0 9 * * 1-5 go', "The cron expression has no closing quote"),
        ("cron 0 0 9 * * 1-5 go", "`0 0 9 * * 1-5` looks like more than 5 fields"),
        ("cron 0 9 * * nonsense", "`0 9 * * nonsense` is not a valid cron expression"),
        ("cron", "`cron` needs a 5-field expression"),
        ('cron "0 9 31 2 *" go', '`cron "0 9 31 2 *"` never runs'),
    ],
)
def test_invalid_cron(text: str, expected: str) -> None:
    message = error(text)
    assert message.startswith(expected), message
    assert 'cron "0 9 * * 1-5"' in message


@pytest.mark.parametrize(
    "text",
    ["every 30m", "in 45m  ", "at 2026-12-01 09:00", "daily 09:00", "hourly", 'cron "0 9 * * *"'],
)
def test_missing_instruction(text: str) -> None:
    message = error(text)
    when = text.strip()
    assert message.startswith(f"`{when}` says when, but not what")
    assert f"`/handinger schedule {when} summarise today's top stories`" in message


def test_hostile_text_is_escaped_in_errors() -> None:
    message = error("<!channel> & <@U123> hi")
    assert message.startswith("`&lt;!channel&gt;` is not a way to say when")
    assert "<!channel>" not in message
    assert "`&lt;!here&gt;` is not an amount of time" in error("every <!here> x")
    assert "`&lt;!everyone&gt;` is not a time unit" in error("in 5 <!everyone> x")
    unit = error("every 5<b>&amp;</b> x")
    assert "<" not in unit.replace("&lt;", "")
    backticks = error("every 5`<!channel>` x")
    assert backticks.count("`") % 2 == 0 and "<!channel>" not in backticks
    long = error("x" * 500)
    assert len(long) < 1_000 and "…" in long


def test_escaping_in_missing_instruction_and_dst_messages() -> None:
    assert "<" not in error("at 09:00", tz="Europe/Madrid").replace("&lt;", "")


# ---- describe_when, next_runs, describe_cron --------------------------------------------------


@pytest.mark.parametrize(
    ("when", "tz", "expected"),
    [
        (IntervalWhen(interval_seconds=1_800), None, "every 30 minutes"),
        (IntervalWhen(interval_seconds=3_600), "Europe/Madrid", "every hour"),
        (IntervalWhen(interval_seconds=3_700), None, "every 3700 seconds"),
        (DelayedWhen(delay_in_seconds=2_700), None, "once, in 45 minutes"),
        (DelayedWhen(delay_in_seconds=86_400), None, "once, in 1 day"),
        (ScheduledWhen(date=at(2026, 12, 1, 9)), None, "once, at 2026-12-01 09:00 UTC"),
        (
            ScheduledWhen(date=at(2026, 12, 1, 9)),
            "Europe/Madrid",
            "once, at 2026-12-01 10:00 Europe/Madrid (09:00 UTC)",
        ),
        (
            ScheduledWhen(date=datetime(2026, 12, 1, 9)),  # naive: UTC, as the model says
            "America/Los_Angeles",
            "once, at 2026-12-01 01:00 America/Los_Angeles (09:00 UTC)",
        ),
        (CronWhen(cron="0 9 * * 1-5"), None, "every weekday at 09:00 UTC"),
        (CronWhen(cron="0 9 * * *"), "Europe/Madrid", "every day at 09:00 UTC"),
        (CronWhen(cron="15 7 * * 3"), None, "every Wednesday at 07:15 UTC"),
        (CronWhen(cron="0 * * * *"), None, "every hour, on the hour"),
        (CronWhen(cron="0 9 1 * *"), None, "at 09:00, on day 1 of the month (UTC)"),
    ],
)
def test_describe_when(when: When, tz: str | None, expected: str) -> None:
    assert describe_when(when, tz) == expected


def test_next_runs_for_each_type() -> None:
    assert next_runs(ScheduledWhen(date=at(2026, 12, 1, 9)), NOW) == [at(2026, 12, 1, 9)]
    assert next_runs(DelayedWhen(delay_in_seconds=60), NOW) == [at(2026, 11, 28, 15, 1)]
    assert next_runs(IntervalWhen(interval_seconds=600), NOW, count=2) == [
        at(2026, 11, 28, 15, 10),
        at(2026, 11, 28, 15, 20),
    ]
    cron = CronWhen(cron="0 9 * * 1-5")
    assert next_runs(cron, NOW, count=5) == [
        at(2026, 11, 30, 9),
        at(2026, 12, 1, 9),
        at(2026, 12, 2, 9),
        at(2026, 12, 3, 9),
        at(2026, 12, 4, 9),
    ]
    assert next_runs(cron, NOW, count=0) == []
    assert next_runs(CronWhen(cron="0 9 31 2 *"), NOW) == []  # never matches a date


def test_next_runs_are_aware_utc_even_from_another_zone() -> None:
    from zoneinfo import ZoneInfo

    madrid_now = NOW.astimezone(ZoneInfo("Europe/Madrid"))
    runs = next_runs(CronWhen(cron="0 9 * * *"), madrid_now)
    assert runs == [at(2026, 11, 29, 9), at(2026, 11, 30, 9), at(2026, 12, 1, 9)]
    assert all(run.tzinfo == UTC for run in runs)


def test_cron_boundary_is_strictly_after_now() -> None:
    runs = next_runs(CronWhen(cron="0 15 * * *"), NOW, count=1)
    assert runs == [at(2026, 11, 29, 15)]


def test_describe_cron() -> None:
    assert describe_cron("0 9 * * 1-5") == "at 09:00, Monday through Friday (UTC)"
    assert describe_cron("*/5 * * * *") == "every 5 minutes (UTC)"
    assert describe_cron("not a cron") == "cron not a cron (UTC)"


# ---- the minimum time between runs of a repeating schedule ------------------------------------

FIFTEEN = timedelta(minutes=15)


@pytest.mark.parametrize(
    ("when", "gap"),
    [
        (IntervalWhen(interval_seconds=30), timedelta(seconds=30)),
        (CronWhen(cron="*/5 * * * *"), timedelta(minutes=5)),
        (CronWhen(cron="* * * * *"), timedelta(minutes=1)),
        (CronWhen(cron="0 * * * *"), timedelta(hours=1)),
        (CronWhen(cron="0,1 9 * * *"), timedelta(minutes=1)),  # then a day: the first gap is short
        (CronWhen(cron="0,30 9 * * *"), timedelta(minutes=30)),
        (CronWhen(cron="0 9 * * 1-5"), timedelta(days=1)),
        (CronWhen(cron="0 9 * * 1"), timedelta(days=7)),
        (CronWhen(cron="0,50 0,23 * * *"), timedelta(minutes=10)),  # 23:50 → 00:00 next day
        (CronWhen(cron="0 0,23 1,31 * *"), timedelta(hours=1)),  # only at a month's end
        (CronWhen(cron="0 0,23 28,29 2 *"), timedelta(hours=1)),  # only in a leap year
        (CronWhen(cron="0 9 29 2 *"), None),  # once in the four-year window
        (DelayedWhen(delay_in_seconds=30), None),
        (ScheduledWhen(date=at(2026, 12, 1, 9)), None),
    ],
)
def test_shortest_gap_between_runs(when: When, gap: timedelta | None) -> None:
    assert shortest_gap(when, NOW) == gap


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("every 30s digest", "runs every 30 seconds"),
        ("every 14 minutes digest", "runs every 14 minutes"),
        ('cron "*/5 * * * *" digest', "has runs only 5 minutes apart"),
        ('cron "0,1 9 * * *" digest', "has runs only 1 minute apart"),
        ('cron "0,50 0,23 * * *" digest', "has runs only 10 minutes apart"),
    ],
)
def test_repeating_schedules_under_the_minimum_are_refused(text: str, runs: str) -> None:
    result = parse_schedule(text, NOW, None, FIFTEEN)
    assert isinstance(result, WhenError), result
    message = when_error_text(result)
    assert runs in message
    assert "at least 15 minutes apart" in message
    assert "`every 15m`" in message
    assert "`HANDINGER_MIN_SCHEDULE_INTERVAL`" in message


@pytest.mark.parametrize(
    "text",
    ["every 15m x", "every 1h x", "hourly x", 'cron "*/15 * * * *" x', "daily 09:00 x", "in 30s x"],
)
def test_schedules_at_or_over_the_minimum_and_one_shots_pass(text: str) -> None:
    assert isinstance(parse_schedule(text, NOW, None, FIFTEEN), ParsedSchedule)


def test_a_month_end_gap_counts_not_just_the_first() -> None:
    two_hours = timedelta(hours=2)
    result = parse_schedule('cron "0 0,23 1,31 * *" x', NOW, None, two_hours)
    assert isinstance(result, WhenError)
    message = when_error_text(result)
    assert "1 hour apart" in message
    assert "at least 2 hours apart" in message and "`every 2h`" in message


def test_no_minimum_allows_any_interval() -> None:
    assert ok("every 1s x").when == IntervalWhen(interval_seconds=1)


def test_every_refusal_has_its_wording() -> None:
    """The parser answers data; each kind of refusal must read as a sentence in Slack."""
    from typing import get_args

    from bot.core.when import WhenProblem
    from bot.slack import when_wording

    assert set(when_wording._WORDING) == set(get_args(WhenProblem))
