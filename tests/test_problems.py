"""What went wrong is data in the core and words in the Slack adapter; the store keeps it."""

from __future__ import annotations

from typing import get_args

import pytest

from bot.core.ports import ChannelTrouble, ScheduleStopped
from bot.core.problems import Problem, ProblemCode, diagnose, restored, stored
from bot.handinger.errors import APIStatusError, RateLimitError
from bot.slack.wording import failure_text, problem_text, schedule_stopped_text
from bot.store import Schedule


@pytest.mark.parametrize("code", get_args(ProblemCode))
def test_every_problem_reads_as_sentences_that_say_what_next(code: ProblemCode) -> None:
    text = problem_text(Problem(code, status=500))
    assert text.endswith(".") and "{" not in text


def test_a_problem_survives_the_store_and_other_text_stays_text() -> None:
    problem = Problem("refused", 422, said='it said "no" {x}')
    assert restored(stored(problem)) == problem
    assert restored("the worker's own words") == "the worker's own words"
    assert restored("problem:not json") == "problem:not json"
    assert restored('problem:{"code":"nonsense"}') == 'problem:{"code":"nonsense"}'
    assert restored(None) is None


def test_the_wording_keeps_what_the_server_said_and_whether_it_was_retried() -> None:
    refused = diagnose(APIStatusError(422, "bad   input\nhere"))
    assert problem_text(refused).startswith("Handinger refused the request (422). It said: “bad")
    limited = RateLimitError(429, "slow down")
    limited.attempts = 3
    assert "(429) and still was after retrying." in failure_text(diagnose(limited))


@pytest.mark.parametrize("reason", get_args(ChannelTrouble))
def test_a_stopped_schedule_is_told_with_what_to_do_and_its_words_stay_text(
    reason: ChannelTrouble,
) -> None:
    schedule = Schedule(
        id="sch_1",
        team_id="T1",
        channel_id="C1",
        worker_id="w_1",
        creator_id="U1",
        input="ping <!here> *now* " + "x" * 300,
        budget="low",
        type="interval",
        description="every 1h",
        status="cancelled",
        created_at=0.0,
    )
    text = schedule_stopped_text(ScheduleStopped(schedule, reason))
    assert "<!here>" not in text and "&lt;!here&gt;" in text  # the creator's words stay text
    assert "<#C1>" in text and "every 1h" in text and "/handinger schedule" in text
    assert len(text) < 1_000 and text.endswith(".")
