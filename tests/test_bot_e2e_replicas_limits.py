"""End to end, Slack's limits with three replicas (issue 15): Slack counts `chat.update` per
workspace and `chat.postMessage` per channel, whichever process calls. Three bots in Socket
Mode on one PostgreSQL database share one workspace's allowance through the database, so
many long runs at once in one channel get no 429 at all, and every card ends with its answer."""

from __future__ import annotations

import httpx

from emulators.harness import Child, server
from tests.e2e import Stack, answer_shown, is_final

RUNS = 24


def test_three_replicas_together_stay_inside_one_workspace_allowance(
    idle_stack: Stack, replicas: list[Child]
) -> None:
    stack = idle_stack
    for _ in range(3):
        replicas.append(server("bot", ["run"], env=stack.bot_env(), cwd=stack.tmp))
    for n in range(RUNS):
        result = stack.slash(f"question {n} [[duration=20]]")
        assert result["ok"] and result["acked"], result

    finals = stack.wait_final_card(count=RUNS, timeout=300)
    workers = {worker["id"]: worker for worker in stack.workers()}
    assert len(workers) == RUNS
    for card in finals:
        assert card["text"].startswith("✅"), card["text"]
        assert sum(1 for edit in card["edits"] if is_final(edit)) == 1, card["edits"]
        answer_shown(stack, card, next(w for w in workers if w in str(card["blocks"])))
    updates = stack.calls("chat.update")
    posts = stack.calls("chat.postMessage")
    assert len(updates) > RUNS  # progress edits too, not only the finals
    assert [c for c in updates + posts if c.get("status") == 429] == []
    sent = sum(httpx.get(f"{bot.url}/healthz").json()["database_statements"] for bot in replicas)
    print(  # for the record (BENCHMARKS.md): what the database was asked, per run and call
        f"database statements: {sent} for {RUNS} runs ({sent / RUNS:.0f} a run), "
        f"{len(updates) + len(posts)} chat.update/postMessage calls"
    )
