"""End to end: worker files land in the thread once each; the card's menu; `/handinger status`."""

from __future__ import annotations

from typing import Any

from tests.cards import click, make_stale, redrawn, run_id_of
from tests.e2e import Stack, section_text, wait_until

CAP = "100000"


def thread_files(stack: Stack, thread_ts: str) -> list[dict[str, Any]]:
    root = stack.message(thread_ts) or {}
    return [f for reply in root.get("replies", []) for f in reply.get("files", [])]


def thread_texts(stack: Stack, thread_ts: str) -> list[str]:
    root = stack.message(thread_ts) or {}
    return [str(reply.get("blocks") or reply.get("text")) for reply in root.get("replies", [])]


def handinger_bytes(stack: Stack, worker_id: str, path: str) -> bytes:
    response = stack.handinger.get(f"/api/workers/{worker_id}/files/{path}")
    response.raise_for_status()
    return response.content


def slack_bytes(stack: Stack, file: dict[str, Any]) -> bytes:
    response = stack.slack.get(f"/_emulator/files/{file['id']}")
    response.raise_for_status()
    return response.content


def test_files_are_uploaded_once_with_safe_names_across_turns_and_restarts(
    idle_stack: Stack,
) -> None:
    stack = idle_stack
    stack.start_bot(HANDINGER_MAX_FILE_BYTES=CAP)
    stack.slash("build the report [[files=2]] [[filesize=300000]]")
    [card] = stack.wait_final_card()
    files = wait_until(lambda: f if len(f := thread_files(stack, card["ts"])) >= 2 else None)
    [worker] = stack.workers()
    by_name = {f["name"]: f for f in files}
    assert set(by_name) == {"reports-q3-summary.md", "chart.png"}
    assert slack_bytes(stack, by_name["chart.png"]) == handinger_bytes(
        stack, worker["id"], "chart.png"
    )
    assert slack_bytes(stack, by_name["reports-q3-summary.md"]) == handinger_bytes(
        stack, worker["id"], "reports/q3/summary.md"
    )
    refused = wait_until(
        lambda: [t for t in thread_texts(stack, card["ts"]) if "big.bin" in t], what="refusal"
    )
    assert len(refused) == 1 and "limit" in refused[0]

    # A follow-up that publishes one more file: only that one is uploaded.
    stack.post("add notes [[file=extra/notes.txt]]", thread_ts=card["ts"])
    stack.wait_final_reply(card["ts"], 1)
    files = wait_until(lambda: f if len(f := thread_files(stack, card["ts"])) >= 3 else None)
    assert sorted(f["name"] for f in files) == [
        "chart.png",
        "extra-notes.txt",
        "reports-q3-summary.md",
    ]

    # A restart between turns uploads nothing twice, and refusals are not repeated.
    assert stack.bot is not None
    stack.bot.stop()
    stack.start_bot(HANDINGER_MAX_FILE_BYTES=CAP)
    stack.post("anything else?", thread_ts=card["ts"])
    stack.wait_final_reply(card["ts"], 2)
    assert len(thread_files(stack, card["ts"])) == 3
    assert len([t for t in thread_texts(stack, card["ts"]) if "big.bin" in t]) == 1

    # The same path re-published with new content is uploaded again, as a new version.
    stack.post(
        "update the summary [[file=reports/q3/summary.md]] [[version=2]]", thread_ts=card["ts"]
    )
    stack.wait_final_reply(card["ts"], 3)
    files = wait_until(lambda: f if len(f := thread_files(stack, card["ts"])) >= 4 else None)
    summaries = [f for f in files if f["name"] == "reports-q3-summary.md"]
    assert len(summaries) == 2
    assert slack_bytes(stack, summaries[-1]) == handinger_bytes(
        stack, worker["id"], "reports/q3/summary.md"
    )
    assert slack_bytes(stack, summaries[0]) != slack_bytes(stack, summaries[-1])


def test_a_file_on_another_origin_is_linked_never_fetched_with_the_key(stack: Stack) -> None:
    stack.slash("fetch elsewhere [[foreign-file]]")
    [card] = stack.wait_final_card()
    notes = wait_until(
        lambda: [t for t in thread_texts(stack, card["ts"]) if "foreign.txt" in t], what="note"
    )
    assert "outside Handinger" in notes[0]
    log = stack.handinger.get("/_emulator/requests").json()
    assert [r for r in log if r["path"].startswith("/_foreign/")] == []
    assert thread_files(stack, card["ts"]) == []


def test_the_card_menu_gives_the_email_address_and_refreshes_its_own_turn(stack: Stack) -> None:
    stack.slash("what is new")
    [card] = stack.wait_final_card()
    [worker] = stack.workers()
    run_id = run_id_of(card)
    address = stack.handinger.get(f"/api/workers/{worker['id']}/email").json()
    click(stack, card, f"email:{run_id}")
    wait_until(lambda: [e for e in stack.ephemeral() if address in str(e)], what="the address")

    # The worker moves on outside Slack. Refresh redraws the card from Handinger: still its
    # own turn's answer and sources, not the later turn's.
    stack.handinger.post(f"/api/workers/{worker['id']}", json={"input": "something else"})
    wait_until(lambda: not stack.worker(worker["id"])["running"], what="the turn")
    latest = stack.worker(worker["id"])["output_text"]
    make_stale(stack, card)
    click(stack, card, f"refresh:{run_id}")
    refreshed = redrawn(stack, card["ts"])
    assert refreshed["text"].startswith("✅")
    assert section_text(refreshed) == section_text(card)
    assert refreshed["blocks"] == card["blocks"]  # its footer too: what its turn cost
    assert latest.splitlines()[0].lstrip("# ").strip() not in section_text(refreshed)
    assert "example.org/what-is-new/" in section_text(refreshed)
    assert "example.org/something-else/" not in section_text(refreshed)


def test_status_lists_the_callers_recent_workers_newest_first(stack: Stack) -> None:
    stack.slash("alpha task")
    stack.slash("beta task", user="U0002")
    stack.slash("gamma task")
    stack.wait_final_card(count=3)
    stack.slash("status")
    said = wait_until(
        lambda: [e for e in stack.ephemeral() if "recent workers" in str(e)], what="status"
    )
    text = str(said[-1])
    assert "gamma task" in text and "alpha task" in text and "beta task" not in text
    assert text.index("gamma task") < text.index("alpha task")
    assert text.count("thread") >= 2
