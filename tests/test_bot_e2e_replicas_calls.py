"""End to end, replicas make no more Slack calls than one bot (issue 15). Two bots on one
PostgreSQL database each finish some of one user's runs (Socket Mode hands events round
robin): the App Home refreshes after those runs are coalesced across both processes (one now,
one trailing that shows the last state, as one bot makes), and each run's permalink is
fetched once, whichever process publishes."""

from __future__ import annotations

import time
from typing import Any

from bot.slack.replies import STATE_LABELS
from emulators.harness import Child, server
from tests.e2e import Stack, wait_until

RUNS = 6
SETTLE = 25.0
"""Seconds after the home shows every run done for any later refresh to arrive (the
publisher's interval is 10 s); the test counts calls, it never asserts on time."""


def test_two_replicas_publish_the_home_and_fetch_permalinks_as_one_bot_does(
    idle_stack: Stack, replicas: list[Child]
) -> None:
    stack = idle_stack
    for _ in range(2):
        replicas.append(server("bot", ["run"], env=stack.bot_env(), cwd=stack.tmp))
    for n in range(RUNS):
        result = stack.slash(f"question {n} [[duration=2]]")
        assert result["ok"] and result["acked"], result
    stack.wait_final_card(count=RUNS, timeout=120)

    def home_done() -> dict[str, Any] | None:
        view: dict[str, Any] | None = stack.slack.get(
            "/_emulator/home", params={"user": "U0001"}
        ).json()["view"]
        done = str(view["blocks"]).count(STATE_LABELS["completed"]) if view else 0
        return view if done == RUNS else None

    wait_until(home_done, timeout=60, what="the App Home showing every run done")
    time.sleep(SETTLE)
    assert home_done() is not None  # the last publish shows the last state

    publishes = stack.calls("views.publish")
    assert 1 <= len(publishes) <= 2, [call["time"] for call in publishes]
    permalinks = stack.calls("chat.getPermalink")
    assert len(permalinks) == RUNS, len(permalinks)
