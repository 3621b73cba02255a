"""Scenario 5's tallies from the Slack emulator's records: Web API calls per workspace and per
run (by method, 429s), and the requests Slack sent the bot (commands, events, acks, retries).

`auth.test` and `oauth.v2.access` are counted apart from the calls per run: in OAuth mode Bolt
authorizes each request Slack sends (command or event), with an `auth.test` the first time it
sees a token, and `oauth.v2.access` is the install.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .measure import call_counts, percentile, summary
from .stack import FINAL_PREFIXES, JSON

OVERHEAD_METHODS = ("auth.test", "oauth.v2.access")
"""Not per run: Bolt's authorization of each incoming request, and the OAuth install."""


def per_workspace(
    calls: list[JSON], acks: list[JSON], runs: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Each workspace's Web API calls (per run, by method, 429s) and requests Slack sent."""
    out: dict[str, dict[str, Any]] = {}
    for team, count in sorted(runs.items()):
        mine = [c for c in calls if c.get("team") == team]
        per_run = [c for c in mine if c.get("method") not in OVERHEAD_METHODS]
        counts = call_counts(per_run)
        sent = [a for a in acks if a.get("team") == team]
        out[team] = {
            "runs": count,
            "calls": counts["total"],
            "per_run": round(counts["total"] / count, 3),
            "by_method": counts["by_method"],
            "429": counts["429"],
            "auth_test": sum(1 for c in mine if c.get("method") == "auth.test"),
            "auth_test_429": sum(
                1 for c in mine if c.get("method") == "auth.test" and c.get("status") == 429
            ),
            "installs": sum(1 for c in mine if c.get("method") == "oauth.v2.access"),
            "requests_from_slack": len(sent),
            "not_acked": sum(1 for a in sent if not a.get("acked")),
        }
    return out


def slack_totals(calls: list[JSON], runs: int, teams: dict[str, dict[str, Any]]) -> JSON:
    """All workspaces together; `per_run` excludes auth.test and oauth.v2.access."""
    mine = [c for c in calls if c.get("team") in teams]
    counts = call_counts([c for c in mine if c.get("method") not in OVERHEAD_METHODS])
    auth = sum(t["auth_test"] for t in teams.values())
    requests = sum(t["requests_from_slack"] for t in teams.values())
    per_run = [t["per_run"] for t in teams.values()]
    everything = call_counts(mine)
    return {
        **counts,
        "per_run": round(counts["total"] / runs, 3) if runs else None,
        "per_run_min": min(per_run),
        "per_run_max": max(per_run),
        "auth_test": auth,
        "auth_test_per_request": auth / requests if requests else 0.0,
        "installs": sum(t["installs"] for t in teams.values()),
        "429": everything["429"],
        "429_by_method": everything["429_by_method"],
        "workspaces_limited": sum(1 for t in teams.values() if t["429"] or t["auth_test_429"]),
    }


def request_totals(acks: list[JSON]) -> JSON:
    """What Slack sent the bot over HTTP: commands and events, acked or not, redeliveries."""
    events = [a for a in acks if a.get("type") == "events_api"]
    first = [a for a in events if not a.get("attempt")]
    by_type = Counter(str(entry.get("event_type")) for entry in first)
    acked_ids = {a.get("event_id") for a in events if a.get("acked")}
    ms = [float(a["ack_ms"]) for a in events if a.get("ack_ms") is not None]
    return {
        "commands": sum(1 for a in acks if a.get("type") == "slash_commands"),
        "events": len(first),
        "events_acked": sum(1 for a in first if a.get("event_id") in acked_ids),
        "events_by_type": dict(sorted(by_type.items())),
        "events_ack_ms": summary(ms),
        "events_ack_p999_ms": percentile(ms, 99.9),
        "retries": len(events) - len(first),
        "attempts_not_acked": sum(1 for a in events if not a.get("acked")),
    }


def repeated_finals(calls: list[JSON]) -> int:
    """Final card edits beyond the first on the same message: a run two processes finished."""
    finals = Counter(
        (str(c["args"].get("channel")), str(c["args"].get("ts")))
        for c in calls
        if c.get("method") == "chat.update"
        and c.get("ok")
        and str(c.get("args", {}).get("text", "")).startswith(FINAL_PREFIXES)
    )
    return sum(n - 1 for n in finals.values())
