"""End to end: schedules made from Slack, digests posted when they fire (on the Handinger
emulator's clock, moved forward by the test), exactly once, also across a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from croniter import croniter

from bot.slack.markdown import markdown_to_mrkdwn
from tests.e2e import Stack, section_text, squash, wait_until
from tests.schedules import (
    FAST_CHECKS,
    advance,
    assistant_texts,
    digests,
    has_digests,
    open_modals,
    schedule_id_from,
    submit,
)


def test_an_interval_schedule_posts_each_run_once_and_threads_continue(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(**FAST_CHECKS)
    stack.slash("schedule every 1h summarise the incidents")
    schedule_id = schedule_id_from(stack)
    assert schedule_id.startswith("sch_")
    [first] = wait_until(lambda: digests(stack), what="the first digest")
    [worker] = stack.workers()
    for fired in range(1, 4):
        wait_until(lambda: not stack.worker(worker["id"])["running"], what="an idle worker")
        advance(stack, 3601)
        wait_until(partial(has_digests, stack, fired + 1), what=f"digest {fired + 1}")
    wait_until(lambda: stack.workers()[0]["turns"] == 4, what="four turns")
    posted = wait_until(lambda: d if len(d := digests(stack)) == 4 else None, what="4 digests")
    texts = assistant_texts(stack, worker["id"])
    assert len(texts) == 4
    for message, text in zip(sorted(posted, key=lambda m: float(m["ts"])), texts, strict=True):
        assert squash(markdown_to_mrkdwn(text)) in squash(section_text(message))
    assert "every hour" in str(first["blocks"]) or "every 1 hour" in str(first["blocks"])

    # A reply in a digest's thread continues the same worker.
    latest = sorted(posted, key=lambda m: float(m["ts"]))[-1]
    stack.post("and what should we fix first?", thread_ts=latest["ts"])
    stack.wait_final_reply(latest["ts"], 1)
    [worker] = stack.workers()
    assert worker["inputs"][-1] == "and what should we fix first?"
    assert len(digests(stack)) == 4  # the follow-up is not mistaken for a scheduled run


def test_a_cron_schedule_confirms_its_next_runs(stack: Stack) -> None:
    before = datetime.now(UTC)
    stack.slash('schedule cron "0 9 * * 1-5" post the standup notes')
    said = str(wait_until(lambda: [e for e in stack.ephemeral() if "Scheduled:" in str(e)])[-1])
    runs = croniter("0 9 * * 1-5", before)
    for _ in range(3):
        moment = runs.get_next(datetime)
        assert moment.strftime("%Y-%m-%d 09:00") in said, said


def test_only_the_creator_or_an_admin_can_cancel(stack: Stack) -> None:
    stack.slash("schedule every 2h check the dashboards", user="U0002")
    schedule_id = schedule_id_from(stack, "U0002")
    wait_until(lambda: digests(stack), what="the first digest")

    listing = stack.slack.post(
        "/_emulator/slash", json={"channel": "C0001", "user": "U0002", "text": "schedules"}
    ).json()
    assert listing["ok"]
    wait_until(lambda: [e for e in stack.ephemeral("U0002") if schedule_id in str(e)])

    made = stack.slack.post("/_emulator/users", json={"name": "carol"}).json()
    carol = made["user"]["id"]
    stack.slack.post("/_emulator/members", json={"channel": "C0001", "user": carol})
    stack.slash(f"unschedule {schedule_id}", user=carol)
    refusal = wait_until(lambda: [e for e in stack.ephemeral(carol) if "Only" in str(e)])
    assert "<@U0002>" in str(refusal[-1])
    remote = stack.handinger.get(f"/api/workers/{stack.workers()[0]['id']}/schedules").json()
    assert [s["id"] for s in remote["schedules"]] == [schedule_id]

    stack.slash(f"unschedule {schedule_id}", user="U0001")  # a workspace admin
    wait_until(lambda: [e for e in stack.ephemeral("U0001") if "Cancelled" in str(e)])
    remote = stack.handinger.get(f"/api/workers/{stack.workers()[0]['id']}/schedules").json()
    assert remote["schedules"] == []
    turns = stack.workers()[0]["turns"]
    advance(stack, 7201)
    assert stack.workers()[0]["turns"] == turns  # nothing fires any more


def test_a_run_missed_while_down_is_posted_once_marked_late(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(**FAST_CHECKS)
    stack.slash("schedule every 1h tally the sign-ups")
    schedule_id_from(stack)
    stack.wait_final_card()
    [worker] = stack.workers()
    wait_until(lambda: not stack.worker(worker["id"])["running"], what="an idle worker")
    assert stack.bot is not None
    stack.bot.stop()
    advance(stack, 3601)
    wait_until(lambda: stack.workers()[0]["turns"] == 2, what="the scheduled turn")
    wait_until(lambda: not stack.worker(worker["id"])["running"], what="its end")
    stack.start_bot(**FAST_CHECKS)
    late = wait_until(lambda: d if len(d := digests(stack)) == 2 else None, what="the late digest")
    newest = max(late, key=lambda m: float(m["ts"]))
    assert "late" in str(newest["blocks"])
    stack.bot.stop()
    stack.start_bot(**FAST_CHECKS)  # and once more: nothing is posted twice
    stack.slash("status")
    wait_until(lambda: [e for e in stack.ephemeral() if "recent workers" in str(e)])
    assert len(digests(stack)) == 2


def test_every_invalid_when_gets_a_precise_message_and_calls_no_api(stack: Stack) -> None:
    cases = {
        'schedule cron "61 * * * *" do it': "cron",
        "schedule every 0m do it": "every",
        "schedule every -5m do it": "every",
        "schedule at 2020-01-01 09:00 do it": "past",
        "schedule every 5 fortnights do it": "unit",
        "schedule every 30m": "instruction",
        "schedule whenever do it": "every",
    }
    for text in cases:
        assert stack.slash(text)["ok"]
    said = wait_until(
        lambda: e if len(e := stack.ephemeral()) >= len(cases) else None, what="every answer"
    )
    for (text, needle), answer in zip(cases.items(), said, strict=False):
        assert needle in str(answer).lower(), (text, answer)
    assert stack.handinger.get("/_emulator/requests").json() == []
    assert stack.bot_messages() == []


def test_the_schedule_modal_shows_errors_inline_then_schedules(stack: Stack) -> None:
    stack.slash("schedule")
    [modal] = wait_until(lambda: open_modals(stack), what="the modal")
    refused = submit(stack, modal["id"], "every 0m", "count the tickets")
    assert refused["response"]["response_action"] == "errors"
    assert "when" in refused["response"]["errors"] and not refused["closed"]
    assert stack.handinger.get("/_emulator/requests").json() == []
    accepted = submit(stack, modal["id"], "every 1d", "count the tickets")
    assert accepted["closed"]
    wait_until(lambda: digests(stack), what="the first digest")
    schedule_id_from(stack)
    [worker] = stack.workers()
    [remote] = stack.handinger.get(f"/api/workers/{worker['id']}/schedules").json()["schedules"]
    assert (remote["type"], remote["intervalSeconds"], remote["budget"]) == (
        "interval",
        86400,
        "low",
    )


def test_schedule_this_schedules_the_cards_own_worker(stack: Stack) -> None:
    stack.slash("weekly numbers")
    [card] = stack.wait_final_card()
    run_id = next(
        o["value"].split(":")[1]
        for b in card["blocks"]
        if b["type"] == "actions"
        for o in b["elements"][0]["options"]
    )
    stack.slack.post(
        "/_emulator/actions",
        json={
            "channel": "C0001",
            "message_ts": card["ts"],
            "action_id": "run_actions",
            "user": "U0001",
            "value": f"schedule:{run_id}",
        },
    ).raise_for_status()
    [modal] = wait_until(lambda: open_modals(stack), what="the modal")
    prefilled = modal["blocks"][1]["element"]["initial_value"]
    assert prefilled == "weekly numbers"
    assert submit(stack, modal["id"], "weekly mon 09:00", prefilled)["closed"]
    schedule_id_from(stack)
    [worker] = stack.workers()
    [remote] = stack.handinger.get(f"/api/workers/{worker['id']}/schedules").json()["schedules"]
    assert (remote["type"], remote["cron"]) == ("cron", "0 9 * * 1")
    assert worker["turns"] == 1  # no new worker and no extra run


def test_a_crash_during_the_first_run_loses_neither_it_nor_a_firing(idle_stack: Stack) -> None:
    stack = idle_stack
    stack.start_bot(**FAST_CHECKS)
    stack.slash("schedule every 1h count the deploys [[duration=4]]")
    schedule_id_from(stack)  # the schedule exists; the first run is still streaming
    assert stack.bot is not None
    stack.bot.kill()
    advance(stack, 3601)  # due while the first turn runs: it fires right after it
    wait_until(lambda: stack.workers()[0]["turns"] == 2, what="the scheduled turn")
    [worker] = stack.workers()
    wait_until(lambda: not stack.worker(worker["id"])["running"], what="its end")
    stack.start_bot(**FAST_CHECKS)
    posted = wait_until(
        lambda: (
            d if len(d := [m for m in digests(stack) if m["text"].startswith("✅")]) == 2 else None
        ),
        what="the first run finished and the late digest",
    )
    first, late = sorted(posted, key=lambda m: float(m["ts"]))
    texts = assistant_texts(stack, worker["id"])
    assert squash(markdown_to_mrkdwn(texts[0])) in squash(section_text(first))
    assert squash(markdown_to_mrkdwn(texts[1])) in squash(section_text(late))
    assert "late" in str(late["blocks"]) and "late" not in str(first["blocks"])
