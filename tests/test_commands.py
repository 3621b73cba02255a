"""`/handinger` text and @mention parsing, and Slack's wire text → plain text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.handinger.models import IntervalWhen
from bot.slack.commands import (
    Command,
    CommandError,
    Help,
    RunInstruction,
    ScheduleInstruction,
    Subcommand,
    parse_command,
    parse_mention,
    parse_mention_run,
    parse_schedule_command,
)
from bot.slack.mrkdwn import slack_to_plain


def error_text(result: Command) -> str:
    assert isinstance(result, CommandError), result
    return result.message


# ---- slack_to_plain --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "plain"),
    [
        ("ask <@U1|bob> and <@U2>", "ask @bob and @U2"),
        ("in <#C1|general> and <#C2>", "in #general and #C2"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S1|@devs> and <!subteam^S2>", "@devs and @S2"),
        ("read <https://x.io/a|the doc>", "read the doc (https://x.io/a)"),
        ("<https://x.io> and <https://y.io|https://y.io>", "https://x.io and https://y.io"),
        ("<http://example.com|example.com>", "http://example.com"),
        ("mail <mailto:a@b.io|a@b.io>", "mail a@b.io"),
        ("<https://x.io/?a=1&amp;b=2|q&amp;a>", "q&a (https://x.io/?a=1&b=2)"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("literal &amp;lt; stays", "literal &lt; stays"),
        ("<!date^1392734382^{date}|Feb 18th>", "Feb 18th"),
        ("no markup at all", "no markup at all"),
    ],
)
def test_slack_to_plain(wire: str, plain: str) -> None:
    assert slack_to_plain(wire) == plain


# ---- help and subcommands --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP me", "-h", "--help", "-b high --help"])
def test_help(text: str) -> None:
    assert parse_command(text) == Help()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status", Subcommand("status", "")),
        ("Status of  the deploy", Subcommand("status", "of  the deploy")),
        (
            "schedule every monday 9:00 --budget low digest",
            Subcommand("schedule", "every monday 9:00 --budget low digest"),
        ),
        ("schedules", Subcommand("schedules", "")),
        ("unschedule sch_1", Subcommand("unschedule", "sch_1")),
    ],
)
def test_reserved_first_word_is_a_subcommand(text: str, expected: Subcommand) -> None:
    assert parse_command(text) == expected


def test_status_as_a_later_word_is_just_an_instruction() -> None:
    assert parse_command("what is the status of x") == RunInstruction("what is the status of x")


# ---- instructions and budgets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("summarise incidents", RunInstruction("summarise incidents", None)),
        ("--budget high summarise", RunInstruction("summarise", "high")),
        ("--budget=LOW summarise", RunInstruction("summarise", "low")),
        ("-b unlimited summarise", RunInstruction("summarise", "unlimited")),
        ("-b=standard summarise", RunInstruction("summarise", "standard")),
        ("summarise it --budget high", RunInstruction("summarise it", "high")),
        ("summarise it -b low", RunInstruction("summarise it", "low")),
        ("summarise it --budget=high", RunInstruction("summarise it", "high")),
        ("-b high summarise it --budget high", RunInstruction("summarise it", "high")),
        ("—budget high summarise", RunInstruction("summarise", "high")),
        ("run grep -b foo", RunInstruction("run grep -b foo", None)),
        ("what does -b do", RunInstruction("what does -b do", None)),
        ("a  b\n\nc", RunInstruction("a  b\n\nc", None)),
        ("-5 degrees tomorrow?", RunInstruction("-5 degrees tomorrow?", None)),
        ("-b low status of the deploy", RunInstruction("status of the deploy", "low")),
    ],
)
def test_instructions_and_budget_options(text: str, expected: RunInstruction) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-- status of the deploy", RunInstruction("status of the deploy")),
        ("-- help me write a haiku", RunInstruction("help me write a haiku")),
        ("-b high -- --fast mode, explained", RunInstruction("--fast mode, explained", "high")),
        ("-- keep --budget high verbatim", RunInstruction("keep --budget high verbatim")),
        ("— schedule a meeting", RunInstruction("schedule a meeting")),
    ],
)
def test_double_dash_ends_options(text: str, expected: RunInstruction) -> None:
    assert parse_command(text) == expected


def test_slack_markup_is_made_plain_before_parsing() -> None:
    parsed = parse_command("-b high ask <@U1|bob> about <#C9|ops> &amp; <https://x.io|this>")
    assert parsed == RunInstruction("ask @bob about #ops & this (https://x.io)", "high")


# ---- errors ----------------------------------------------------------------------------------


def test_unknown_option_names_it_and_suggests_the_escape() -> None:
    message = error_text(parse_command("--fast summarise"))
    assert "`--fast`" in message
    assert "--budget" in message and "-b" in message
    assert "/handinger -- " in message


def test_unknown_option_text_is_escaped_in_the_error() -> None:
    message = error_text(parse_command("--x&lt;!channel&gt; hi"))
    assert "<!channel>" not in message and "&lt;!channel&gt;" in message


@pytest.mark.parametrize("text", ["--budget", "-b", "x --budget", "--budget= x"])
def test_missing_budget_value(text: str) -> None:
    message = error_text(parse_command(text))
    assert "low, standard, high, unlimited" in message


@pytest.mark.parametrize(
    "text", ["--budget huge x", "-b cheap x", "x --budget huge", "--budget=9 x"]
)
def test_invalid_budget_value(text: str) -> None:
    message = error_text(parse_command(text))
    assert "is not a budget" in message
    assert "low, standard, high, unlimited" in message


def test_conflicting_budgets() -> None:
    message = error_text(parse_command("-b low do it --budget high"))
    assert "`low`" in message and "`high`" in message


@pytest.mark.parametrize("text", ["-b high", "--budget=low", "--", "-b high --", "--   "])
def test_empty_instruction(text: str) -> None:
    message = error_text(parse_command(text))
    assert message.startswith("Tell me what to do, e.g. `/handinger summarise")


def test_command_name_is_used_in_messages() -> None:
    message = error_text(parse_command("-b low", command="/agent"))
    assert "`/agent summarise" in message


# ---- mentions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@UBOT> summarise the channel", "summarise the channel"),
        ("<@UBOT|handinger>: summarise", "summarise"),
        ("  <@UBOT> <@UBOT>, hi", "hi"),
        ("<@UBOT> ask <@U2|al> about <!here> &amp; <#C1|ops>", "ask @al about @here & #ops"),
        ("hey <@UBOT> do it", "hey @UBOT do it"),
        ("<@UOTHER> do it", "@UOTHER do it"),
        ("plain DM text", "plain DM text"),
        ("<@UBOT>", ""),
    ],
)
def test_parse_mention(text: str, expected: str) -> None:
    assert parse_mention(text, "UBOT") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@UBOT> --budget high summarise", RunInstruction("summarise", "high")),
        ("<@UBOT> -b low summarise", RunInstruction("summarise", "low")),
        (
            "<@UBOT> summarise the week --budget unlimited",
            RunInstruction("summarise the week", "unlimited"),
        ),
        ("<@UBOT> -- explain the --budget flag", RunInstruction("explain the --budget flag")),
        ("<@UBOT> --help", Help()),
        ("<@UBOT>", Help()),
        ("just a DM", RunInstruction("just a DM")),
    ],
)
def test_a_mention_reads_options_as_the_command_does(text: str, expected: Command) -> None:
    assert parse_mention_run(text, "UBOT") == expected


@pytest.mark.parametrize("options", ["--budget huge do it", "--fast do it", "--budget high"])
def test_a_mention_refuses_what_the_command_refuses_in_the_same_words(options: str) -> None:
    from_command = error_text(parse_command(options))
    from_mention = error_text(parse_mention_run(f"<@UBOT> {options}", "UBOT"))
    assert from_mention == from_command.replace("/handinger", "@Handinger")


def test_a_mention_with_files_needs_no_words() -> None:
    assert parse_mention_run("<@UBOT>", "UBOT", has_files=True) == RunInstruction("")
    found = parse_mention_run("<@UBOT> -b high", "UBOT", has_files=True)
    assert found == RunInstruction("", "high")


# ---- /handinger schedule: options before <when>, after it, and at the end ---------------------

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def schedule(text: str, minimum: timedelta | None = None) -> ScheduleInstruction:
    parsed = parse_schedule_command(text, NOW, None, minimum)
    assert isinstance(parsed, ScheduleInstruction), parsed
    return parsed


def schedule_error(text: str, minimum: timedelta | None = None) -> str:
    parsed = parse_schedule_command(text, NOW, None, minimum)
    assert isinstance(parsed, CommandError), parsed
    return parsed.message


@pytest.mark.parametrize(
    ("text", "instruction", "budget"),
    [
        ("every 1h digest", "digest", None),
        ("--budget low every 1h digest", "digest", "low"),
        ("-b=low every 1h digest", "digest", "low"),
        ("every 30m --budget unlimited too pricey", "too pricey", "unlimited"),
        ("every 1h -b low digest", "digest", "low"),
        ("every 1h --budget=LOW digest", "digest", "low"),
        ("every 1h —budget low digest", "digest", "low"),
        ("every 1h digest --budget low", "digest", "low"),
        ("every 1h digest -b low", "digest", "low"),
        ("-b low every 1h --budget low digest", "digest", "low"),
        ('cron "0 9 * * 1-5" --budget high standup notes', "standup notes", "high"),
        ("at tomorrow 09:00 UTC -b high remind me", "remind me", "high"),
        ("in 45m --budget low remind me", "remind me", "low"),
        ("weekly mon 09:00 -b low numbers", "numbers", "low"),
        ("every 1h --budget low line one\n\nline two", "line one\n\nline two", "low"),
        ("every 1h -- --budget is a flag", "--budget is a flag", None),
        ("-b low every 1h -- --fast mode, explained", "--fast mode, explained", "low"),
        ("-- every 1h --budget low stays text", "--budget low stays text", None),
        ("every 1h run grep -b foo", "run grep -b foo", None),
        ("every 1h -5 degrees tonight?", "-5 degrees tonight?", None),
    ],
)
def test_schedule_options_at_every_position(
    text: str, instruction: str, budget: str | None
) -> None:
    parsed = schedule(text)
    assert (parsed.schedule.instruction, parsed.budget) == (instruction, budget)


def test_schedule_options_keep_the_when() -> None:
    parsed = schedule("every 30m --budget unlimited too pricey")
    assert parsed.schedule.when == IntervalWhen(interval_seconds=1_800)
    assert parsed.schedule.description == "every 30 minutes"


@pytest.mark.parametrize(
    "text", ["help", "--help", "-b low -h", "every 1h --help", "every 1h -h x"]
)
def test_schedule_help(text: str) -> None:
    assert parse_schedule_command(text, NOW) == Help()


def test_unknown_option_after_the_when_is_an_error_with_the_escape() -> None:
    message = schedule_error("every 30m --fast digest")
    assert "Unknown option `--fast`" in message
    assert "`/handinger schedule every 30m -- --fast …`" in message


def test_unknown_option_before_the_when_is_an_error() -> None:
    message = schedule_error("--fast every 30m digest")
    assert "Unknown option `--fast`" in message
    assert "`/handinger schedule -- --fast …`" in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("every 1h --budget huge digest", "`huge` is not a budget"),
        ("every 1h --budget", "`--budget` needs a value"),
        ("every 1h digest --budget", "`--budget` needs a value"),
        ("-b low every 1h --budget high digest", "given twice"),
        ("every 1h -b low digest --budget high", "given twice"),
    ],
)
def test_schedule_option_errors(text: str, needle: str) -> None:
    assert needle in schedule_error(text)


@pytest.mark.parametrize("text", ["every 1h --budget low", "every 1h -b low --", "-b low every 1h"])
def test_schedule_options_alone_are_no_instruction(text: str) -> None:
    assert "says when, but not what" in schedule_error(text)


def test_schedule_when_errors_come_through() -> None:
    assert "is not a way to say when" in schedule_error("--budget low whenever digest")
    assert "not a time unit" in schedule_error("every 5 fortnights -b low digest")


def test_schedule_minimum_interval() -> None:
    fifteen = timedelta(minutes=15)
    message = schedule_error("every 30s --budget low digest", fifteen)
    assert "at least 15 minutes apart" in message and "HANDINGER_MIN_SCHEDULE_INTERVAL" in message
    assert schedule("every 15m digest", fifteen).schedule.instruction == "digest"
    assert schedule("in 30s digest", fifteen).schedule.instruction == "digest"
