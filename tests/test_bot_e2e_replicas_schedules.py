"""End to end, schedules with two bot replicas on one database (issue 15), on a shared SQLite
file and on PostgreSQL: every scheduled turn of a worker (as the Handinger emulator records it)
is posted to the channel exactly once, by one replica or the other; a reply in a digest's
thread, sent while the next scheduled turn runs, reaches the worker once, after it; killing or
stopping the replica that is posting a digest loses and doubles nothing; one that starts beside
a live one marks no digest late; a schedule made through one replica and cancelled through the
other is gone for both. The emulator's clock is moved forward to fire the schedules; the
replicas check their scheduled workers every half second (`FAST_CHECKS`)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from bot.slack.markdown import markdown_to_mrkdwn
from emulators.credentials import SIGNING_SECRET
from emulators.harness import Child, free_port, server
from tests.e2e import Stack, is_final, section_text, squash, wait_until
from tests.schedules import FAST_CHECKS, advance, assistant_texts, digests, schedule_id_from

FIRINGS = 3
QUICK_TURNS = {"turn_seconds": 0.4, "chunks": 4}
"""The Handinger emulator's turns for this module: short, so firings follow each other fast."""
REPLY = "and what should we fix first?"
HTTP_MODE = {"SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": SIGNING_SECRET}


@pytest.fixture
def engine_stack(engine_stack: Stack) -> Stack:
    """The shared fixture's stack on each engine in turn, with quick turns."""
    engine_stack.handinger.post("/_emulator/config", json=QUICK_TURNS).raise_for_status()
    return engine_stack


def said_after(stack: Stack, count: int) -> dict[str, Any] | None:
    """What the bot told U0001 privately after its first `count` such messages, if anything."""
    said = stack.ephemeral()
    return said[count] if len(said) > count else None


def replica(stack: Stack, children: list[Child], **settings: str) -> Child:
    env = stack.bot_env(**{**FAST_CHECKS, "HANDINGER_LEASE_SECONDS": "3", **settings})
    bot = server("bot", ["run"], env=env, cwd=stack.tmp)
    children.append(bot)
    return bot


def of_worker(stack: Stack, worker_id: str) -> list[dict[str, Any]]:
    """The worker's digests in the channel, oldest first."""
    mine = [m for m in digests(stack) if worker_id in str(m["blocks"])]
    return sorted(mine, key=lambda m: float(m["ts"]))


def idle(stack: Stack) -> bool:
    return all(worker["status"] == "completed" for worker in stack.workers())


def fire(stack: Stack, expected: int) -> None:
    """Move the clock past every schedule once, once the workers are idle, and wait until the
    channel shows `expected` digests."""
    wait_until(partial(idle, stack), what="idle workers")
    advance(stack, 3601)
    wait_until(lambda: len(digests(stack)) >= expected or None, what=f"{expected} digests")


def assert_each_turn_posted_once(
    stack: Stack, *, late: int = 0, replies: frozenset[str] | set[str] = frozenset()
) -> None:
    """Every turn of every worker but those asked for in a thread (`replies`) is in the channel
    once, in order, showing that turn's answer; `late` of them are marked posted late. No
    digest run failed or was claimed twice."""
    wait_until(partial(idle, stack), what="idle workers")
    workers = stack.workers()
    posted = 0
    for worker in workers:
        answers = assistant_texts(stack, worker["id"])
        assert len(answers) == worker["turns"]
        pairs = zip(answers, worker["inputs"], strict=True)
        texts = [text for text, asked in pairs if asked not in replies]
        shown = of_worker(stack, worker["id"])
        assert len(shown) == len(texts), [section_text(m) for m in shown]
        for message, text in zip(shown, texts, strict=True):
            assert message["text"].startswith("✅"), message["text"]
            assert squash(markdown_to_mrkdwn(text)) in squash(section_text(message))
        posted += len(shown)
    assert len(digests(stack)) == posted
    marked = [m for m in digests(stack) if "posted late" in str(m["blocks"])]
    assert len(marked) == late, [m["blocks"][0] for m in marked]
    runs = stack.rows("SELECT kind, status, error, message_ts FROM runs WHERE kind = 'digest'")
    # Each worker's first turn is the app's own run, shown as a digest but not claimed as one.
    scheduled = posted - len(workers)
    assert len(runs) == scheduled, runs  # no failed or duplicate digest runs
    assert all(status == "completed" and ts for _, status, _, ts in runs), runs
    [(claims,)] = stack.rows("SELECT COUNT(*) FROM digests")
    assert claims == scheduled


def test_two_replicas_post_every_digest_once(engine_stack: Stack, children: list[Child]) -> None:
    stack = engine_stack
    replica(stack, children)
    replica(stack, children)
    stack.slash("schedule every 1h summarise the incidents")
    stack.slash('schedule cron "0 * * * *" tally the deploys')
    wait_until(lambda: len([e for e in stack.ephemeral() if "Scheduled:" in str(e)]) == 2)
    stack.wait_final_card(count=2)
    for fired in range(1, FIRINGS + 1):
        fire(stack, 2 * (fired + 1))
    assert_each_turn_posted_once(stack)

    # A reply in a digest's thread while the next scheduled turn runs: that turn's digest and
    # the reply's answer, once each; the reply's turn is no digest.
    hourly = next(w for w in stack.workers() if "summarise" in w["inputs"][0])
    latest = of_worker(stack, hourly["id"])[-1]
    stack.handinger.post("/_emulator/config", json={"turn_seconds": 3}).raise_for_status()
    wait_until(partial(idle, stack), what="idle workers")
    advance(stack, 3601)
    assert stack.worker(hourly["id"])["running"]
    stack.post(REPLY, thread_ts=latest["ts"], user="U0002")
    [reply] = stack.wait_final_reply(latest["ts"], 1)
    assert hourly["id"] in str(reply["blocks"])
    stack.handinger.post("/_emulator/config", json=QUICK_TURNS).raise_for_status()
    fire(stack, 2 * (FIRINGS + 3))  # and once more: both replicas have looked since
    worker = next(w for w in stack.workers() if w["id"] == hourly["id"])
    assert worker["inputs"].count(REPLY) == 1 and worker["inputs"][-2] == REPLY
    root = stack.message(latest["ts"])
    assert root is not None
    assert [r for r in root["replies"] if r.get("bot_id")] == [reply]
    assert len(stack.rows("SELECT id FROM runs WHERE kind = 'continue'")) == 1
    assert_each_turn_posted_once(stack, replies={REPLY})


def test_a_replica_starting_beside_a_live_one_marks_no_digest_late(
    engine_stack: Stack, children: list[Child]
) -> None:
    """A turn that fired while a replica ran is no late digest, whichever replica posts it:
    here the one that starts after it, since the live one would look only later."""
    stack = engine_stack
    replica(stack, children, HANDINGER_SCHEDULE_CHECK_SECONDS="600")
    stack.slash("schedule every 1h summarise the incidents")
    schedule_id_from(stack)
    stack.wait_final_card()
    wait_until(partial(idle, stack), what="an idle worker")
    advance(stack, 3601)
    wait_until(lambda: stack.workers()[0]["turns"] == 2 or None, what="the scheduled turn")
    replica(stack, children)
    wait_until(lambda: len(digests(stack)) == 2 or None, what="its digest")
    assert_each_turn_posted_once(stack, late=0)


@pytest.mark.parametrize("stop", ["sigkill", "sigterm"])
def test_stopping_the_replica_posting_a_digest_loses_and_doubles_none(
    engine_stack: Stack, children: list[Child], stop: str
) -> None:
    """SIGKILL: the other replica takes the digest over once the poster's lease expires;
    SIGTERM: the poster lets go of it and the other takes it over at once. Either way the
    message Slack made before the poster went is found, not posted again."""
    stack = engine_stack
    first, second = replica(stack, children), replica(stack, children)
    stack.slash("schedule every 1h summarise the incidents")
    schedule_id_from(stack)
    stack.wait_final_card()
    wait_until(partial(idle, stack), what="an idle worker")

    # The digest's chat.postMessage is made (Slack shows it) but its answer is held: the
    # replica posting it is killed before it learns the message's ts.
    stack.slack.post("/_emulator/holds", json={"method": "chat.postMessage"}).raise_for_status()
    advance(stack, 3601)
    wait_until(lambda: stack.slack.get("/_emulator/holds").json()["held"], what="the post")
    [(owner,)] = stack.rows("SELECT owner FROM leases WHERE name LIKE 'run:%'")
    poster = next(bot for bot in (first, second) if f":{bot.pid}:" in owner)
    if stop == "sigkill":
        poster.kill()
    else:
        poster.stop()
    stack.slack.delete("/_emulator/holds").raise_for_status()
    replica(stack, children)  # a fresh one

    wait_until(
        lambda: stack.rows("SELECT id FROM runs WHERE kind = 'digest' AND message_ts IS NOT NULL"),
        what="the digest taken over",
    )
    assert len(digests(stack)) == 2
    for fired in range(2, 2 + FIRINGS):
        fire(stack, fired + 1)
    assert_each_turn_posted_once(stack)


def test_a_schedule_made_on_one_replica_and_cancelled_on_the_other_is_gone(
    engine_stack: Stack, children: list[Child]
) -> None:
    """HTTP mode, so the test says which replica each request goes to."""
    stack = engine_stack
    urls = []
    for _ in range(2):
        port = free_port()
        replica(stack, children, **HTTP_MODE, PORT=str(port))
        urls.append(f"http://127.0.0.1:{port}/slack/events")

    def through(url: str, text: str) -> None:
        stack.slack.post("/_emulator/config", json={"request_url": url}).raise_for_status()
        result = stack.slash(text)
        assert result["ok"] and result["acked"], result

    through(urls[0], "schedule every 1h summarise the incidents")
    schedule_id = schedule_id_from(stack)
    [card] = stack.wait_final_card()
    fire(stack, 2)
    through(urls[1], f"unschedule {schedule_id}")
    wait_until(lambda: [e for e in stack.ephemeral() if "Cancelled" in str(e)], what="cancelled")
    [worker] = stack.workers()
    remote = stack.handinger.get(f"/api/workers/{worker['id']}/schedules").json()
    assert remote["schedules"] == []
    said = len(stack.ephemeral())
    for url in urls:  # neither lists it any more
        through(url, "schedules")
        listing = wait_until(partial(said_after, stack, said), what="the listing")
        said += 1
        assert schedule_id not in str(listing), listing
    advance(stack, 7201)
    assert stack.workers()[0]["turns"] == 2  # nothing fires any more
    assert_each_turn_posted_once(stack)
    assert is_final(card)
