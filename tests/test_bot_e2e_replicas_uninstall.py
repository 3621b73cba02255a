"""End to end, an uninstall heard by another replica (issue 15), on one PostgreSQL database:
replica B serves HTTP with no request URL pointed at it, so Slack tells it nothing; it holds
the runs it took over from A (stopped); C, in Socket Mode, hears `tokens_revoked` and
`app_uninstalled` and forgets the workspace. B learns of it from the database at its next
beat and stops its turns there, so no replica keeps working for a workspace that removed the
app."""

from __future__ import annotations

import re

from emulators.credentials import SIGNING_SECRET
from emulators.harness import Child, free_port, server
from tests.e2e import Stack, wait_until

LEFT = re.compile(r"workspace T0001 was left: (\d+) turn\(s\) stopped here")


def run_owners(stack: Stack) -> set[str]:
    found = stack.rows("SELECT owner FROM leases WHERE name LIKE 'run:%'")
    return {str(owner) for (owner,) in found}


def active_runs(stack: Stack) -> int:
    [(count,)] = stack.rows(
        "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'starting', 'running')"
    )
    return int(count)


def test_an_uninstall_another_replica_heard_stops_this_ones_turns(
    idle_stack: Stack, replicas: list[Child]
) -> None:
    stack = idle_stack
    env = stack.bot_env(HANDINGER_LEASE_SECONDS="3")
    a = server("bot", ["run"], env=env, cwd=stack.tmp)
    quiet = {
        "SLACK_APP_TOKEN": "",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PORT": str(free_port()),
    }
    b = server("bot", ["run"], env={**env, **quiet}, cwd=stack.tmp)
    replicas.extend([a, b])
    for n in range(3):
        assert stack.slash(f"long question {n} [[duration=60]]")["acked"]
    wait_until(lambda: len(run_owners(stack)) == 1 or None, what="A running the turns")
    a.stop()  # a clean stop: B takes the runs over
    wait_until(lambda: len(run_owners(stack)) == 1 or None, what="B running the turns")
    replicas.append(server("bot", ["run"], env=env, cwd=stack.tmp))  # C hears Slack

    uninstalled = stack.slack.post("/_emulator/uninstall", json={"team": "T0001", "wait": True})
    assert uninstalled.json()["acked"] is True
    wait_until(lambda: active_runs(stack) == 0 or None, what="the workspace's runs stopped")
    # B, which Slack did not tell, stops its turns within a beat (min(5 s, lease / 3): 1 s here)
    stopped = wait_until(
        lambda: next((m for m in map(LEFT.search, b.output) if m is not None), None),
        timeout=20,
        what="the other replica to stop its turns",
    )
    assert int(stopped.group(1)) >= 1
    assert wait_until(lambda: run_owners(stack) == set() or None, what="no run held any more")
