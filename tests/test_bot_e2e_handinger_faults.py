"""End to end: what Handinger's failures and hostile answers look like in Slack. No secret from an
error body is ever shown, a final read that fails a few times still shows the answer, a file's
problem is said once per thread, and no download follows a redirect off Handinger's origin."""

from __future__ import annotations

from typing import Any

from emulators.credentials import BOT_TOKEN, HANDINGER_KEY
from tests.e2e import Stack, answer_shown, wait_until

SECRETS = (HANDINGER_KEY, "xyz123secret", BOT_TOKEN, "xoxb-1234-5678-abcdef")
HOSTILE = (
    f"invalid request: Authorization: Bearer {HANDINGER_KEY} was sent with Bearer xyz123secret; "
    f"tokens xoxb-test and xoxb-1234-5678-abcdef; key={HANDINGER_KEY}"
)


def handinger_fault(stack: Stack, **spec: Any) -> None:
    stack.handinger.post("/_emulator/faults", json=spec).raise_for_status()


def thread_texts(stack: Stack, thread_ts: str) -> list[str]:
    root = stack.message(thread_ts) or {}
    return [str(reply.get("blocks") or reply.get("text")) for reply in root.get("replies", [])]


def assert_no_secret(shown: str) -> None:
    for secret in SECRETS:
        assert secret not in shown, f"{secret!r} shown: {shown[:400]}"


def test_secrets_in_a_handinger_error_are_never_shown(stack: Stack) -> None:
    handinger_fault(stack, status=400, error=HOSTILE, method="POST", path="^/api/workers$")
    stack.slash("start something")
    [card] = stack.wait_final_card()
    assert_no_secret(str(card))
    assert card["text"].startswith("❌")
    assert "Handinger refused the request (400)." in str(card["blocks"])

    handinger_fault(stack, status=422, error=HOSTILE, method="POST", path="/schedules$")
    stack.slash("schedule every 1h summarise the incidents")
    told = wait_until(
        lambda: [e for e in stack.ephemeral() if "could not be created" in str(e)],
        what="the schedule's failure, told privately",
    )
    assert "(422)" in str(told)
    assert_no_secret(str(stack.ephemeral()))
    assert_no_secret(str(stack.messages()))


def test_three_server_errors_on_the_final_read_still_show_the_answer(stack: Stack) -> None:
    handinger_fault(stack, status=500, count=3, method="GET", path="^/api/workers/[^/]+$")
    stack.slash("Summarise the week")
    [card] = stack.wait_final_card()
    assert card["text"].startswith("✅"), card["blocks"]
    [worker] = stack.workers()
    answer_shown(stack, card, worker["id"])
    reads = [
        r
        for r in stack.handinger.get("/_emulator/requests").json()
        if r["method"] == "GET" and r["path"] == f"/api/workers/{worker['id']}"
    ]
    assert [r["status"] for r in reads[:4]] == [500, 500, 500, 200]


def test_a_missing_file_is_reported_once_per_thread(stack: Stack) -> None:
    handinger_fault(stack, status=404, count=100, method="GET", path="/files/gone.txt$")
    stack.slash("write it [[file=gone.txt]]")
    [card] = stack.wait_final_card()
    wait_until(
        lambda: [t for t in thread_texts(stack, card["ts"]) if "gone.txt" in t], what="notice"
    )
    for turn in range(1, 3):
        stack.post(f"and then {turn}", thread_ts=card["ts"])
        stack.wait_final_reply(card["ts"], turn)
    # The second follow-up started only once the first had delivered its files.
    notices = [t for t in thread_texts(stack, card["ts"]) if "gone.txt" in t]
    assert len(notices) == 1
    assert "Handinger no longer has it (404)" in notices[0]


def test_a_download_redirected_off_handingers_origin_is_not_followed(stack: Stack) -> None:
    elsewhere = stack.handinger_url.replace("127.0.0.1", "localhost")
    handinger_fault(
        stack,
        method="GET",
        path="/files/notes.txt$",
        action="redirect",
        location=f"{elsewhere}/_foreign/whatever/notes.txt",
    )
    stack.slash("write it [[file=notes.txt]]")
    [card] = stack.wait_final_card()
    notes = wait_until(
        lambda: [t for t in thread_texts(stack, card["ts"]) if "notes.txt" in t], what="note"
    )
    log = stack.handinger.get("/_emulator/requests").json()
    assert [r for r in log if r["path"].startswith("/_foreign/")] == []
    assert "outside Handinger" in notes[0]
