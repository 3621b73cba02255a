"""Scenario 5 with several replicas (issue 15): the same load on one bot and on three.

`python -m bench --only replicas` runs scenario 5's load (`scale_runs` runs over
`scale_workspaces` workspaces, HTTP mode, OAuth installs, strict limits at real time) once per
variant, one after another, each on fresh emulators, fresh bots and a fresh database: by
default one bot on SQLite (the embedded default, today's baseline), then one and three bots on
one PostgreSQL database. Three replicas sit behind a round-robin balancer (`bench.balancer`),
which is where Slack delivers commands and events and where the installs go, as behind any load
balancer. PostgreSQL is a throwaway cluster started for the scenario (`emulators.postgres`),
with `pg_stat_statements` counting every statement the bots send (`bench.database`).

Per variant it reports: final answers delivered and correct, 429s in every workspace (the
target is none anywhere: replicas share Slack's per-workspace allowance through the database),
each replica's peak RSS and CPU, Slack calls per run by method (replicas must not add any),
database round trips per run and the server's CPU, and the machine's load average while it ran.
"""

from __future__ import annotations

import os
from typing import Any

from .database import Database
from .plan import Plan
from .scale import RSS_TARGET_MB, run_load
from .scenarios import row, tidy
from .stack import JSON, Stack

NAME = "5. Scale, replicas"
MORE_CALLS = 0.05
"""How much more Slack calls per run three replicas may spend than one before it counts as
"more": progress edits depend on timing (finals and card posts do not), so runs of the same
code differ by a few per cent."""


def variants(plan: Plan) -> list[tuple[str, int]]:
    """(engine, replicas) in the order they run."""
    out = [("sqlite", 1)] if plan.replicas_sqlite else []
    return out + [("postgresql", n) for n in plan.replicas]


def title(engine: str, replicas: int) -> str:
    base = "SQLite" if engine == "sqlite" else "PostgreSQL"
    return f"{base}, {replicas} replica{'s' * (replicas != 1)}"


async def replicas(stack: Stack, plan: Plan) -> dict[str, Any]:
    """Every variant's load, one after another; PostgreSQL started only if a variant needs it."""
    database: Database | None = None
    loads: dict[str, dict[str, Any]] = {}
    try:
        for engine, count in variants(plan):
            if engine == "postgresql" and database is None:
                database = Database()
            load_before = os.getloadavg()
            print(f"[bench] replicas: {title(engine, count)} …", flush=True)
            load = await run_load(stack, plan, count, database if engine != "sqlite" else None)
            load.pop("samples")
            load["load_average"] = {"before": load_before, "after": os.getloadavg()}
            loads[title(engine, count)] = load
    finally:
        if database is not None:
            database.close()
    rows = [r for name, load in loads.items() for r in variant_rows(name, load)]
    rows.extend(comparison(loads))
    return {"rows": rows, "variants": loads}


def variant_rows(name: str, load: dict[str, Any]) -> list[JSON]:
    runs = int(load["runs"])
    slack = load["slack"]
    teams = load["slack_by_workspace"]
    limited = {team: t["429"] + t["auth_test_429"] for team, t in teams.items()}
    reps = load["replicas"]
    peaks = [r["end"]["peak_rss_mb"] for r in reps]
    idle = [r["idle"]["rss_mb"] for r in reps]
    cpus = [r["end"]["cpu_s"] - r["idle"]["cpu_s"] for r in reps]
    finals = load["final_s"]
    db = load["database"]
    avg = load["load_average"]
    where = f"{NAME}: {name}"
    by_method = ", ".join(f"{m} {n / runs:.2f}" for m, n in slack["by_method"].items())
    sent = [r["requests"] for r in reps if r["requests"] is not None]
    counted = [r["statements"] for r in reps if r["statements"] is not None]
    requests = load["requests_from_slack"]
    return [
        row(
            where,
            "final answers delivered and correct",
            f"{load['correct']}/{runs}",
            target=f"{runs}/{runs}",
            met=load["correct"] == runs and load["wrong"] == 0,
            note=f"time to final p50 {tidy(finals['p50'])} s, p95 {tidy(finals['p95'])} s; "
            f"wall {load['wall_s']} s (last turn ended at {load['turns_done_s']} s)"
            + (f"; {load['failed_cards']} ended with ❌" if load["failed_cards"] else ""),
        ),
        row(
            where,
            "runs resumed by another process, finals sent twice",
            f"{load['resumed_streams']}, {load['repeated_finals']}",
            target="0, 0",
            met=load["resumed_streams"] == 0 and load["repeated_finals"] == 0,
            note="resumed: the Handinger stream of a worker re-read (a lease lost and taken over);"
            " twice: a message edited to a final answer more than once",
        ),
        row(
            where,
            "429s received, all workspaces",
            sum(limited.values()),
            target="0 in every workspace",
            met=not any(limited.values()),
            note=f"most in one workspace {max(limited.values())}; "
            f"{sum(1 for n in limited.values() if n)} of {len(limited)} workspaces got any"
            + (f"; by method {slack['429_by_method']}" if slack["429"] else ""),
        ),
        row(
            where,
            "peak RSS per replica",
            " / ".join(f"{p:.0f}" for p in peaks),
            "MB",
            target=f"≤ {RSS_TARGET_MB:g} MB each",
            met=max(peaks) <= RSS_TARGET_MB,
            note=f"idle (installed) {' / '.join(f'{i:.0f}' for i in idle)} MB",
        ),
        row(
            where,
            "CPU seconds per replica, whole load",
            " / ".join(f"{c:.1f}" for c in cpus),
            "s",
            target="report",
            note=f"together {sum(cpus):.1f} s, {sum(cpus) / runs * 1000:.0f} ms per run, "
            f"{sum(cpus) / load['wall_s']:.2f} of a core"
            + (f"; requests the balancer sent each: {' / '.join(map(str, sent))}" if sent else ""),
        ),
        row(
            where,
            "Slack calls per run",
            slack["per_run"],
            target="report",
            note=f"by method per run: {by_method}; per workspace {slack['per_run_min']}–"
            f"{slack['per_run_max']}; besides: auth.test {slack['auth_test']}, "
            f"oauth.v2.access {slack['installs']}",
        ),
        row(
            where,
            "database round trips per run",
            round(db["statements"] / runs, 1) if db else "—",
            target="report",
            note=(
                f"as the bots counted them {sum(counted) / runs:.1f} per run "
                f"({' + '.join(f'{n / runs:.1f}' for n in counted)}); "
                if counted
                else ""
            )
            + (
                f"{db['statements']:,} statements (pg_stat_statements, BEGIN/COMMIT included); "
                f"server CPU {db['server_cpu_s']} s ({db['server_cpu_s'] / runs * 1000:.0f} ms "
                "per run); most per run: "
                + ", ".join(f"{t['query'][:48]} {t['calls'] / runs:.1f}" for t in db["top"][:6])
                if db
                else "SQLite runs in the bot's process: no round trips on a network"
            ),
        ),
        row(
            where,
            "commands and events acked",
            f"{load['acked'] + requests['events_acked']}/{runs + requests['events']}",
            target="all",
            met=load["acked"] == runs and requests["events_acked"] == requests["events"],
            note=f"command ack p99 {tidy(load['acks_ms']['p99'])} ms, event ack p99 "
            f"{tidy(requests['events_ack_ms']['p99'])} ms; load average "
            f"{avg['before'][0]:.1f} before, {avg['after'][0]:.1f} after (1 min)",
        ),
    ]


def comparison(loads: dict[str, dict[str, Any]]) -> list[JSON]:
    """Three replicas against one on PostgreSQL: no more Slack calls per run."""
    one = next((v for k, v in loads.items() if k.startswith("PostgreSQL, 1 ")), None)
    many = [(k, v) for k, v in loads.items() if k.startswith("PostgreSQL") and v is not one]
    if one is None:
        return []
    out = []
    for name, load in many:
        ratio = load["slack"]["per_run"] / one["slack"]["per_run"]
        out.append(
            row(
                f"{NAME}: {name} vs 1",
                "Slack calls per run, ratio to 1 replica",
                round(ratio, 3),
                target=f"≤ 1 (+{MORE_CALLS:.0%} timing noise)",
                met=ratio <= 1 + MORE_CALLS,
                note=f"{load['slack']['per_run']} against {one['slack']['per_run']}",
            )
        )
    return out
