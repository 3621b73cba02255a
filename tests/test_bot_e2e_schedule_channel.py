"""End to end: a schedule whose channel was archived, or that the app was removed from, is
cancelled at Handinger at its first digest that cannot be posted, recorded, and its creator is
told by direct message what happened and how to have it again; it does not run on forever."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e import Stack, wait_until
from tests.schedules import FAST_CHECKS, advance, digests


def archive(stack: Stack) -> None:
    stack.slack.post("/_emulator/channels/C0001/archive", json={}).raise_for_status()


def remove_the_app(stack: Stack) -> None:
    body = {"channel": "C0001", "user": "bot", "leave": True}
    stack.slack.post("/_emulator/members", json=body).raise_for_status()


def told(stack: Stack) -> list[dict[str, Any]]:
    """The app's direct messages to the schedule's creator (U0001's DM with the app)."""
    return [m for m in stack.bot_messages("D0001") if "cancelled your schedule" in str(m)]


@pytest.mark.parametrize(
    ("act", "reason", "said"),
    [
        (archive, "archived", "unarchive the channel"),
        (remove_the_app, "removed", "/invite @Handinger"),
    ],
    ids=["archived", "app-removed"],
)
def test_a_schedule_whose_channel_takes_no_posts_is_stopped_and_its_creator_told(
    idle_stack: Stack, act: Callable[[Stack], None], reason: str, said: str
) -> None:
    stack = idle_stack
    stack.start_bot(**FAST_CHECKS)
    stack.slash("schedule every 1h count the open incidents")
    [worker] = wait_until(stack.workers, what="the schedule's worker")
    wait_until(lambda: not stack.worker(worker["id"])["running"], what="an idle worker")
    stack.wait_final_card()
    act(stack)
    advance(stack, 3601)

    [dm] = wait_until(lambda: told(stack), what="the creator told by direct message")
    text = str(dm["blocks"])
    assert "<#C0001>" in text and "count the open incidents" in text and said in text
    schedules = stack.handinger.get(f"/api/workers/{worker['id']}/schedules").json()
    assert schedules["schedules"] == []  # nothing more runs (or costs) at Handinger
    [(status, by)] = stack.rows("SELECT status, cancelled_by FROM schedules")
    assert (status, by) == ("cancelled", f"channel:{reason}")
    turns = stack.worker(worker["id"])["messages"]
    advance(stack, 7200)
    assert stack.worker(worker["id"])["messages"] == turns
    assert len(told(stack)) == 1 and len(digests(stack)) == 1
