"""Hostile worker output, end to end: it never stalls Slack's acks, and what it puts in Slack is
inert and honest. Also: a streaming answer is rendered only for the edits that go out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.views import LiveView, RunView
from bot.slack.blocks import SlackMessage
from bot.slack.publisher import SlackSurface
from bot.slack.render import render_progress
from bot.store import Store
from emulators.handinger.agent import echo_answer
from emulators.harness import Child
from tests.e2e import Stack, is_final, section_text, wait_until
from tests.hostile import deceptive_links, limit_problems, live_mentions, message_texts
from tests.slack_emulator import bot_clients, emulator, seeded_run

PARENS = "https://a/" + ")" * 30_000
COMMANDS = ["help", "status", "help", "status", "say hi [[duration=1]]", "help"]


def built(view: RunView) -> LiveView:
    """A view already built, offered as a live one."""
    return LiveView(len(view.text), lambda: view)


def text_so_far(stack: Stack) -> int:
    found = stack.handinger.get("/_emulator/workers", params={"times": "true"}).json()
    chars = [t["chars"][-1] for w in found for t in w.get("turn_times", []) if t["chars"]]
    return max(chars, default=0)


def slash_from_another_client(stack: Stack, text: str) -> dict[str, Any]:
    """A slash command typed by someone else at the same moment (one connection each)."""
    body = {"channel": "C0001", "user": "U0002", "text": text}
    response = httpx.post(f"{stack.slack_url}/_emulator/slash", json=body, timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_commands_are_acked_while_a_hostile_answer_streams(stack: Stack) -> None:
    """`https://a/` and 30,000 `)` streamed in 400 deltas used to block the event loop for
    seconds at a time, so commands sent meanwhile missed Slack's 3-second ack."""
    stack.slash(f"{PARENS} [[echo]] [[chunks=400]] [[duration=8]] [[nosources]]")
    wait_until(lambda: text_so_far(stack) >= 10_000, 30, "the hostile answer to be streaming")
    with ThreadPoolExecutor(len(COMMANDS)) as pool:
        results = list(pool.map(lambda text: slash_from_another_client(stack, text), COMMANDS))
    for text, result in zip(COMMANDS, results, strict=True):
        assert result["acked"], (text, result)  # the emulator's own 3-second rule
        if text == "help":  # answered in the ack itself
            assert result["response"] and result["response"]["blocks"], result
    acks = stack.slack.get("/_emulator/acks", params={"type": "slash_commands"}).json()["acks"]
    commands = [a for a in acks if a["type"] == "slash_commands"]
    assert len(commands) == 1 + len(COMMANDS) and all(a["acked"] for a in commands), commands

    cards = stack.wait_final_card(count=2, timeout=90)
    hostile = next(c for c in cards if "https://a/))" in section_text(c))
    assert hostile["text"].startswith("✅")
    for message in stack.messages():
        for shown in [message, *message.get("replies", [])]:
            assert limit_problems(shown) == [], shown


def test_hostile_answers_reach_slack_inert_and_honest(stack: Stack) -> None:
    answer = (
        "Log in: [https://bank.example](https://evil.example) or [www.bank.example](https://evil.example)"
        " ![paypal.com](https://evil.example/p.png) [**bank.example**](https://evil.example)"
        " [\u202eelpmaxe.knab](https://evil.example) <!channel> <@U0002> <!subteam^S1>"
        " &lt;!here&gt;"
        "\n\n> [[quote](https://a.example)](https://evil.example) <#C0001>"
    )  # fmt: skip
    stack.slash(f"{answer} [[echo]] [[duration=1]]")
    [card] = stack.wait_final_card()
    assert is_final(card) and card["text"].startswith("✅")
    for message in stack.bot_messages():
        for shown in [message, *message.get("replies", [])]:
            for version in [shown, *shown.get("edits", [])]:
                wire = "\n".join(message_texts(version))
                assert live_mentions(wire, allowed=["<@U0001>"]) == [], wire
                assert deceptive_links(wire) == [], wire
    body = section_text(card)
    assert "https://bank.example (<https://evil.example>)" in body
    assert "paypal.com (<https://evil.example/p.png>)" in body


# ---- rendering only what is sent -----------------------------------------------------------------


@pytest.fixture(scope="module")
def slack() -> Iterator[Child]:
    with emulator("--rate-limits", "off") as server:
        yield server


async def test_a_streaming_answer_is_rendered_only_for_edits_that_are_sent(
    slack: Child, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 stream events growing an answer to 300,000 chars: each used to render the whole
    answer; now a progress view is rendered only when its edit goes out (about once a second)."""
    renders: list[int] = []

    def counted(view: RunView) -> SlackMessage:
        renders.append(len(view.text))
        return render_progress(view)

    # the card's first post renders in the publisher, each progress edit in the editor
    monkeypatch.setattr("bot.slack.publisher.render_progress", counted)
    monkeypatch.setattr("bot.slack.editing.render_progress", counted)
    control = httpx.Client(base_url=slack.url)
    control.post("/_emulator/reset").raise_for_status()
    surface = SlackSurface(bot_clients(slack.url))
    store = Store(tmp_path / "state.db")
    run = await seeded_run(store)

    def view(text: str, state: Any = "working") -> RunView:
        return RunView(run_id=run.id, state=state, requester="U0001", instruction="q", text=text)

    try:
        run = await store.update_run(run.id, message_ts=await surface.open(run, view("")))
        for event in range(1, 2001):
            surface.progress(run, built(view(PARENS[:10] + ")" * (150 * event))))
            if event % 100 == 0:
                await asyncio.sleep(0.01)  # the stream's pauses: the edit lane may send
        await surface.finish(run, view(PARENS, "completed"))
    finally:
        await surface.aclose()
        await store.close()
    updates = control.get("/_emulator/calls", params={"method": "chat.update"}).json()["calls"]
    control.close()
    assert 2 <= len(updates) <= 10
    assert len(renders) <= len(updates)  # the card's first post, and each progress edit sent
    assert updates[-1]["args"]["text"].startswith("✅")


def test_the_emulator_echoes_the_instruction_as_typed() -> None:
    assert echo_answer("  - a <!here> [[echo=2]] [[duration=3]]", 2) == "  - a <!here>  - a <!here>"
    assert echo_answer("x[[echo]]", 10**9) == "x" * 10_000_000
