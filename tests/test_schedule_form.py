"""The schedule modal's fields: each holds only its part, checked like `/handinger schedule`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.core.when import ParsedSchedule
from bot.handinger.models import IntervalWhen
from bot.slack.schedule_form import OPTIONS_IN_FIELD, field_instruction, prefill, read_form

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
SETTINGS = Settings(_env_file=None)  # max budget high, minimum interval 15 minutes


def form(when: str, instruction: str, budget: str = "low") -> object:
    return read_form(when, instruction, budget, now=NOW, tz=None, settings=SETTINGS)


def test_a_good_form() -> None:
    result = form("every 1d", "count the tickets")
    assert isinstance(result, tuple)
    schedule, budget = result
    assert isinstance(schedule, ParsedSchedule)
    assert (schedule.when, schedule.instruction, budget) == (
        IntervalWhen(interval_seconds=86_400),
        "count the tickets",
        "low",
    )


@pytest.mark.parametrize(
    "when", ["every 1d --budget unlimited", "every 1d count the tickets", "every 1d -- x"]
)
def test_the_when_field_holds_only_a_when(when: str) -> None:
    errors = form(when, "count the tickets")
    assert isinstance(errors, dict) and list(errors) == ["when"]
    assert errors["when"].startswith("Only the when goes here (“every 1d”). Put “")


@pytest.mark.parametrize(
    "instruction",
    [
        "--budget unlimited count the tickets",
        "-b high count the tickets",
        "count the tickets --budget high",
        "--fast count",
        "--help",
    ],
)
def test_options_in_the_instruction_field_are_refused(instruction: str) -> None:
    assert form("every 1d", instruction) == {"instruction": OPTIONS_IN_FIELD}


def test_double_dash_keeps_a_dash_led_instruction() -> None:
    result = form("every 1d", "-- --fast mode, explained")
    assert isinstance(result, tuple) and result[0].instruction == "--fast mode, explained"


def test_the_minimum_interval_applies_to_the_form() -> None:
    errors = form("every 5m", "count the tickets")
    assert isinstance(errors, dict) and "at least 15 minutes apart" in errors["when"]
    assert "HANDINGER_MIN_SCHEDULE_INTERVAL" in errors["when"] and "`" not in errors["when"]


def test_every_field_reports_its_own_mistake_at_once() -> None:
    errors = form("every 0m", "", "unlimited")
    assert isinstance(errors, dict) and set(errors) == {"when", "instruction", "budget"}
    assert errors["budget"] == "Above this workspace's maximum (high)."


@pytest.mark.parametrize(
    "instruction",
    ["weekly numbers", "--fast mode, explained", "explain grep -b low", "-- literally", "a\n\nb"],
)
def test_a_prefilled_instruction_comes_back_unchanged(instruction: str) -> None:
    assert field_instruction(prefill(instruction)) == instruction.strip()
    assert prefill("weekly numbers") == "weekly numbers"
