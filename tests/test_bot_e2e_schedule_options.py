"""End to end: `/handinger schedule` options wherever they stand, and the minimum interval,
through the real bot between the emulators."""

from __future__ import annotations

from typing import Any

from tests.e2e import Stack, wait_until
from tests.schedules import open_modals, schedule_id_from


def answers(stack: Stack, count: int) -> list[str]:
    found = wait_until(
        lambda: e if len(e := stack.ephemeral()) >= count else None, what=f"{count} answer(s)"
    )
    return [str(answer) for answer in found]


def remote_schedules(stack: Stack) -> list[dict[str, Any]]:
    [worker] = stack.workers()
    found: list[dict[str, Any]] = stack.handinger.get(
        f"/api/workers/{worker['id']}/schedules"
    ).json()["schedules"]
    return found


def submit(stack: Stack, view_id: str, when: str, instruction: str) -> dict[str, Any]:
    values = {
        "when": {"value": {"type": "plain_text_input", "value": when}},
        "instruction": {"value": {"type": "plain_text_input", "value": instruction}},
        "budget": {"value": {"type": "static_select", "selected_option": {"value": "low"}}},
    }
    response = stack.slack.post(
        f"/_emulator/views/{view_id}/submit", json={"user": "U0001", "values": values}
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_a_budget_between_the_when_and_the_instruction_is_read_and_capped(stack: Stack) -> None:
    for text in (
        "schedule every 30m --budget unlimited too pricey",
        "schedule --budget unlimited every 30m too pricey",
        "schedule every 30m too pricey -b unlimited",
        "schedule every 30m --fast too pricey",
    ):
        stack.slash(text)
    said = answers(stack, 4)  # in any order: each command is answered on its own
    refusals = [a for a in said if "`unlimited` budget is above this workspace's maximum" in a]
    assert len(refusals) == 3 and all("HANDINGER_MAX_BUDGET" in a for a in refusals)
    assert len([a for a in said if "Unknown option `--fast`" in a]) == 1
    assert stack.handinger.get("/_emulator/requests").json() == []  # nothing was created

    stack.slash("schedule every 1h --budget low count the deploys")
    schedule_id_from(stack)
    [remote] = remote_schedules(stack)
    assert (remote["intervalSeconds"], remote["budget"], remote["input"]) == (
        3600,
        "low",
        "count the deploys",
    )
    assert stack.workers()[0]["inputs"] == ["count the deploys"]


def test_repeating_schedules_more_often_than_the_minimum_are_refused(stack: Stack) -> None:
    stack.slash("schedule every 30s post the queue length")
    stack.slash('schedule cron "0,1 9 * * *" post the queue length')
    stack.slash("schedule")
    said = answers(stack, 2)  # in any order
    [interval] = [a for a in said if "runs every 30 seconds" in a]
    [cron] = [a for a in said if "has runs only 1 minute apart" in a]
    for text in (interval, cron):
        assert "at least 15 minutes apart" in text and "HANDINGER_MIN_SCHEDULE_INTERVAL" in text

    [modal] = wait_until(lambda: open_modals(stack), what="the modal")
    refused = submit(stack, modal["id"], "every 5m", "post the queue length")
    assert "at least 15 minutes apart" in refused["response"]["errors"]["when"]
    refused = submit(stack, modal["id"], "every 1d --budget unlimited", "post the queue length")
    assert refused["response"]["errors"]["when"].startswith("Only the when goes here")
    refused = submit(stack, modal["id"], "every 1d", "--budget unlimited post the queue length")
    assert "Budget menu" in refused["response"]["errors"]["instruction"]
    assert stack.handinger.get("/_emulator/requests").json() == []


def test_an_admin_can_lower_the_minimum(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(HANDINGER_MIN_SCHEDULE_INTERVAL="30s")
    stack.slash("schedule every 30s post the queue length")
    schedule_id_from(stack)
    [remote] = remote_schedules(stack)
    assert remote["intervalSeconds"] == 30
