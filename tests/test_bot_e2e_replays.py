"""End to end: a command, a click or a modal submission delivered again starts nothing again.

Slack never retries these, but a request can still arrive twice (a replayed HTTP request, a
proxy's retry, a duplicated Socket Mode envelope). The app remembers each one in its database
(`handled_events`), so a replay is acked with nothing, also after a restart.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulators.credentials import SIGNING_SECRET
from emulators.harness import free_port
from tests.e2e import Stack, wait_until
from tests.schedules import open_modals, schedule_id_from
from tests.slack_requests import FORM, command_body, signed

MODES = ["socket", "http"]


def start(stack: Stack, mode: str, port: int | None = None) -> str:
    """Start the bot in `mode`; in HTTP mode, point the emulator at it. Returns its request
    URL (empty in Socket Mode)."""
    if mode == "socket":
        stack.start_bot()
        return ""
    port = port or free_port()
    stack.start_bot(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(port))
    url = f"http://127.0.0.1:{port}/slack/events"
    stack.slack.post("/_emulator/config", json={"request_url": url}).raise_for_status()
    return url


def created_workers(stack: Stack) -> int:
    requests = stack.handinger.get("/_emulator/requests").json()
    return sum(1 for r in requests if r["method"] == "POST" and r["path"] == "/api/workers")


def no_traceback(stack: Stack) -> None:
    assert stack.bot is not None
    assert not [line for line in stack.bot.output if "Traceback" in line], stack.bot.output


def replays_acked_with_nothing(result: dict[str, Any], count: int) -> None:
    assert result["acked"]
    assert [(r["acked"], r["response"]) for r in result["replays"]] == [(True, None)] * count


@pytest.mark.parametrize("mode", MODES)
def test_a_slash_command_delivered_three_times_starts_one_worker(
    idle_stack: Stack, mode: str
) -> None:
    stack = idle_stack
    start(stack, mode)
    result = stack.slack.post(
        "/_emulator/slash",
        json={"channel": "C0001", "user": "U0001", "text": "count the replays", "repeat": 3},
    ).json()
    replays_acked_with_nothing(result, 2)
    [card] = stack.wait_final_card()
    assert [m["ts"] for m in stack.bot_messages()] == [card["ts"]]
    assert [w["inputs"] for w in stack.workers()] == [["count the replays"]]
    assert created_workers(stack) == 1
    assert stack.ephemeral() == []  # a replay is not answered, not even politely
    no_traceback(stack)


def test_the_same_signed_request_replayed_also_after_a_restart_runs_once(
    idle_stack: Stack,
) -> None:
    stack = idle_stack
    port = free_port()
    url = start(stack, "http", port)
    body = command_body("only once please")
    headers = signed(body, content_type=FORM)  # the very same bytes and signature each time
    answers = [httpx.post(url, content=body, headers=headers) for _ in range(3)]
    assert [(a.status_code, a.content) for a in answers] == [(200, b"")] * 3
    stack.wait_final_card()
    assert created_workers(stack) == 1

    assert stack.bot is not None
    stack.bot.stop()
    start(stack, "http", port)
    again = httpx.post(url, content=body, headers=headers)  # still within its 5 minutes
    assert (again.status_code, again.content) == (200, b"")
    # A new command afterwards: once its card is final, a replayed run would have shown too.
    assert stack.slash("a new command")["acked"]
    stack.wait_final_card(count=2)
    assert sorted(w["inputs"][0] for w in stack.workers()) == ["a new command", "only once please"]
    assert created_workers(stack) == 2
    assert len(stack.bot_messages()) == 2
    no_traceback(stack)


def submit(stack: Stack, view_id: str, when: str, instruction: str, repeat: int) -> Any:
    values = {
        "when": {"value": {"type": "plain_text_input", "value": when}},
        "instruction": {"value": {"type": "plain_text_input", "value": instruction}},
    }
    response = stack.slack.post(
        f"/_emulator/views/{view_id}/submit",
        json={"user": "U0001", "values": values, "repeat": repeat},
    )
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("mode", MODES)
def test_a_schedule_modal_submitted_three_times_makes_one_schedule(
    idle_stack: Stack, mode: str
) -> None:
    stack = idle_stack
    start(stack, mode)
    stack.slash("schedule")
    [modal] = wait_until(lambda: open_modals(stack), what="the modal")
    result = submit(stack, modal["id"], "every 1d", "count the tickets", repeat=3)
    assert result["closed"]
    assert [(r["acked"], r["response"]) for r in result["replays"]] == [(True, None)] * 2
    schedule_id_from(stack)
    stack.wait_final_card()
    [worker] = stack.workers()
    schedules = stack.handinger.get(f"/api/workers/{worker['id']}/schedules").json()
    assert len(schedules["schedules"]) == 1
    assert created_workers(stack) == 1
    no_traceback(stack)


def test_schedule_this_clicked_and_submitted_twice_schedules_the_worker_once(
    stack: Stack,
) -> None:
    stack.slash("weekly numbers")
    [card] = stack.wait_final_card()
    run_id = next(
        o["value"].split(":")[1]
        for b in card["blocks"]
        if b["type"] == "actions"
        for o in b["elements"][0]["options"]
    )
    click = stack.slack.post(
        "/_emulator/actions",
        json={
            "channel": "C0001",
            "message_ts": card["ts"],
            "action_id": "run_actions",
            "user": "U0001",
            "value": f"schedule:{run_id}",
            "repeat": 2,
        },
    ).json()
    replays_acked_with_nothing(click, 1)
    [modal] = wait_until(lambda: open_modals(stack), what="the modal")
    assert len(stack.calls("views.open")) == 1  # the replayed click opened nothing
    assert submit(stack, modal["id"], "weekly mon 09:00", "weekly numbers", repeat=2)["closed"]
    schedule_id_from(stack)
    [worker] = stack.workers()
    schedules = stack.handinger.get(f"/api/workers/{worker['id']}/schedules").json()
    assert len(schedules["schedules"]) == 1
    assert worker["turns"] == 1
    no_traceback(stack)
