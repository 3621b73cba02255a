"""End to end: OAuth installs into two workspaces, each answered with its own bot token, and an
uninstall that stops everything in one workspace while the other keeps working."""

from __future__ import annotations

import html
import re
import sqlite3
import time
from typing import Any

import httpx

from bot.core.workspaces import UNINSTALLED
from bot.slack.app import NOT_INSTALLED
from tests.e2e import Stack, is_final, wait_until

STATE_COOKIE = "slack-app-oauth-state"


class Workspace:
    def __init__(self, team: str, channel: str, user: str) -> None:
        self.team, self.channel, self.user = team, channel, user


def install(stack: Stack, base: str, team: str) -> None:
    """What an admin does: open the install page, click Add to Slack, approve, come back."""
    page = httpx.get(f"{base}/slack/install", params={"team": team})
    assert page.status_code == 200, page.text
    cookies = [c for c in page.headers.get_list("set-cookie") if c.startswith(STATE_COOKIE)]
    state = cookies[0].split(";", 1)[0].split("=", 1)[1]
    match = re.search(r'<a href="([^"]+)"', page.text)
    assert match is not None, page.text
    link = html.unescape(match.group(1))
    assert link.startswith(f"{stack.slack_url}/oauth/v2/authorize?")
    assert f"team={team}" in link and "scope=" in link
    approved = httpx.get(link)
    assert approved.status_code == 302, approved.text
    back = httpx.get(approved.headers["location"], headers={"Cookie": f"{STATE_COOKIE}={state}"})
    assert back.status_code == 200, back.text
    assert f"slack://app?team={team}" in back.text


def installed_teams(stack: Stack) -> list[str]:
    if stack.database_url is not None:
        found = stack.rows("SELECT DISTINCT team_id FROM slack_bots ORDER BY team_id")
        assert not (stack.tmp / "bot-installations.db").exists()
        return [str(row[0]) for row in found]
    with sqlite3.connect(stack.tmp / "bot-installations.db") as db:
        found = db.execute("SELECT DISTINCT team_id FROM slack_bots ORDER BY team_id").fetchall()
    return [str(row[0]) for row in found]


def calls_in(stack: Stack, channel: str, since: int = 0) -> list[dict[str, Any]]:
    found = [
        c
        for method in ("chat.postMessage", "chat.update")
        for c in stack.calls(method)
        if c["args"].get("channel") == channel and c["seq"] > since
    ]
    return sorted(found, key=lambda c: c["seq"])


def latest_seq(stack: Stack) -> int:
    return max((c["seq"] for c in stack.calls()), default=0)


def ask(stack: Stack, where: Workspace, text: str) -> None:
    result = stack.slash(text, channel=where.channel, user=where.user)
    assert result["ok"] and result["acked"], result


def test_two_workspaces_installed_with_oauth_and_one_uninstalls(engine_stack: Stack) -> None:
    stack = engine_stack
    created = stack.slack.post("/_emulator/workspaces", json={"installed": False}).json()
    second = created["workspace"]
    one = Workspace("T0001", "C0001", "U0001")
    two = Workspace(
        second["id"],
        next(c["id"] for c in second["channels"] if c["name"] == "general"),
        next(u["id"] for u in second["users"] if u["is_admin"]),
    )
    base = stack.start_oauth_bot()
    assert httpx.get(f"{base}/healthz").json()["mode"] == "http"

    # Installing: each workspace goes through /slack/install and the redirect back.
    install(stack, base, one.team)
    install(stack, base, two.team)
    assert installed_teams(stack) == sorted([one.team, two.team])
    exchanges = stack.calls("oauth.v2.access")
    assert [c["team"] for c in exchanges] == [one.team, two.team]
    assert all(c["ok"] for c in exchanges)

    # /handinger in each workspace: the card is posted and edited with that workspace's token.
    ask(stack, one, "what is new in workspace one")
    ask(stack, two, "what is new in workspace two")
    [card_one] = stack.wait_final_card(one.channel)
    [card_two] = stack.wait_final_card(two.channel)
    for where, card in ((one, card_one), (two, card_two)):
        made = calls_in(stack, where.channel)
        assert {c["team"] for c in made} == {where.team}, made
        edits = [c for c in made if c["method"] == "chat.update" and c["args"]["ts"] == card["ts"]]
        assert edits and all(c["ok"] for c in edits)
        assert card["edits"][-1]["text"].startswith("✅")
    # Bolt authorizes every request; the token's auth.test is cached, not repeated each time
    # (one at install, one the first time the token authorizes a request).
    for where in (one, two):
        checks = [c for c in stack.calls("auth.test") if c["team"] == where.team]
        assert 1 <= len(checks) <= 2, checks
    assert stack.rows("SELECT DISTINCT team_id FROM threads ORDER BY team_id") == [
        (one.team,),
        (two.team,),
    ]

    # Workspace one gets a schedule and a run still in flight, then uninstalls the app.
    ask(stack, one, "schedule every 1h watch the incidents")
    wait_until(
        lambda: stack.rows(
            "SELECT id FROM schedules WHERE team_id = ? AND status = 'active'", "T0001"
        ),
        what="the schedule",
    )
    [(schedule_id, scheduled_worker)] = stack.rows(
        "SELECT id, worker_id FROM schedules WHERE team_id = ?", one.team
    )
    stack.handinger.get(f"/api/workers/{scheduled_worker}/schedules").raise_for_status()
    wait_until(
        lambda: not stack.rows("SELECT id FROM runs WHERE status IN ('starting', 'running')"),
        what="the schedule's first run to end",
    )
    slow = {"turn_seconds": 12}  # long enough to still be running when the app is removed
    stack.handinger.post("/_emulator/config", json=slow).raise_for_status()
    ask(stack, one, "a long question that will not finish")
    wait_until(
        lambda: [m for m in stack.bot_messages(one.channel) if not is_final(m)],
        what="a card still working",
    )
    uninstalled = stack.slack.post("/_emulator/uninstall", json={"team": one.team, "wait": True})
    assert uninstalled.json()["acked"] is True

    def stopped() -> list[tuple[Any, ...]]:
        return stack.rows(
            "SELECT id, error FROM runs WHERE team_id = ? AND status = 'failed'", one.team
        )

    [(_, error)] = wait_until(stopped, what="the in-flight run to be stopped")
    assert error == UNINSTALLED
    after = latest_seq(stack)
    assert installed_teams(stack) == [two.team]
    assert stack.rows("SELECT status FROM schedules WHERE id = ?", schedule_id) == [("gone",)]
    assert not stack.rows("SELECT 1 FROM threads WHERE team_id = ?", one.team)
    assert not stack.rows(
        "SELECT 1 FROM runs WHERE team_id = ? AND status IN ('queued', 'starting', 'running')",
        one.team,
    )
    remote = stack.handinger.get(f"/api/workers/{scheduled_worker}/schedules").json()
    assert remote["schedules"] == []  # cancelled on Handinger: no more turns for nobody

    # Workspace two keeps working, and nothing more is sent to workspace one.
    stack.handinger.post("/_emulator/config", json={"turn_seconds": 2.5}).raise_for_status()
    ask(stack, two, "and now a second question")
    stack.wait_final_card(two.channel, count=2)
    time.sleep(3.0)  # a live run edits its card every second or so
    later = [c for c in stack.calls() if c["seq"] > after]
    assert later and {c["team"] for c in later} == {two.team}, later
    refused = stack.slack.post(
        "/_emulator/slash", json={"channel": one.channel, "user": one.user, "text": "hello?"}
    )
    assert refused.status_code == 409  # Slack no longer offers the command there
    assert stack.bot is not None
    assert "Traceback" not in "\n".join(stack.bot.output), "\n".join(stack.bot.output[-80:])


def test_oauth_mode_refuses_requests_from_a_workspace_that_never_installed(
    idle_stack: Stack,
) -> None:
    stack = idle_stack
    base = stack.start_oauth_bot()
    result = stack.slash("who are you?")  # T0001 exists on Slack but never installed this app
    assert result["acked"]
    assert result["response"] is None
    [told] = wait_until(stack.ephemeral, what="an explanation")
    assert told["text"] == NOT_INSTALLED and told["source"] == "response_url"
    time.sleep(1.0)
    assert not stack.workers()
    assert not stack.bot_messages()
    assert httpx.get(f"{base}/healthz").json()["ok"] is True
