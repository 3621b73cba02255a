"""`python -m bench`: run the benchmark scenarios of issue 7 and write the results.

    python -m bench                 # everything, about 15 minutes on 2 cores
    python -m bench --quick         # a tiny variant of every scenario, well under a minute
    python -m bench --only acks,side
    python -m bench --only scale --scale-runs 500 --scale-workspaces 10
    python -m bench --only replicas                # scenario 5 on SQLite, then 1 and 3 replicas
                                                   # on PostgreSQL (not part of "everything")
    python -m bench --only stream,side --chart   # also <stem>-side.png (`bench.chart`)

Writes `<out>/<UTC date-time>[-quick].json` (everything measured) and `.md` (the table), and
prints the table. Exit status 1 if a scenario failed to run (a missed target is not a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .plan import Plan
from .report import code_version, machine, markdown

SCENARIOS = ("acks", "stream", "scale", "side", "followups", "replicas")
"""`acks` is scenario 1; `stream` gives 2, 3 and 4 (they share their runs); `scale` is 5;
`side` is 6; `followups` is 7 (issue 17: native streaming vs the edit path); `replicas` is 5
with several bots on PostgreSQL (issue 15)."""
EVERYTHING = SCENARIOS[:-1]
"""What runs without `--only`: `replicas` repeats scenario 5 three times (and needs
PostgreSQL's server binaries), so it runs only when asked for."""

RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny variant of every scenario")
    parser.add_argument(
        "--only",
        default=",".join(EVERYTHING),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    parser.add_argument("--work", type=Path, help="logs and databases (default: a temp dir)")
    parser.add_argument("--scale-runs", type=int, help="scenario 5's number of runs")
    parser.add_argument(
        "--scale-workspaces", type=int, help="scenario 5's workspaces (OAuth installs)"
    )
    parser.add_argument("--scale-channels", type=int, help="scenario 5's channels per workspace")
    parser.add_argument("--scale-drain", type=float, help="seconds to wait for scale finals")
    parser.add_argument(
        "--scale-wait-all", action="store_true", default=None, help="wait for every final"
    )
    parser.add_argument(
        "--replicas",
        help="PostgreSQL variants of `replicas`: comma-separated bot counts (default 1,3)",
    )
    parser.add_argument(
        "--no-sqlite",
        action="store_true",
        help="`replicas` without the one-bot-on-SQLite baseline",
    )
    parser.add_argument("--reps", type=int, help="repetitions of scenarios 2-4 and 6")
    parser.add_argument(
        "--source",
        type=Path,
        help="measure the bot and emulators of another checkout (a snapshot with bot/, emulators/)",
    )
    parser.add_argument(
        "--chart",
        action="store_true",
        help="also draw the side-by-side edit timelines as <stem>-side.png (needs matplotlib)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; known: {SCENARIOS}")
    if args.replicas is not None:
        try:
            args.replicas = tuple(int(n) for n in args.replicas.split(","))
        except ValueError:
            parser.error(f"--replicas takes bot counts such as 1,3, not {args.replicas!r}")
        if not args.replicas or min(args.replicas) < 1:
            parser.error("--replicas: every count must be at least 1")
    for name in ("scale_runs", "scale_workspaces", "scale_channels"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    plan = Plan.quick_plan() if args.quick else Plan.full()
    reps = args.reps
    return plan.with_overrides(
        scale_runs=args.scale_runs,
        scale_workspaces=args.scale_workspaces,
        scale_channels=args.scale_channels,
        scale_drain=args.scale_drain,
        scale_wait_all=args.scale_wait_all,
        ten_reps=reps,
        fifty_reps=reps,
        side_reps=reps,
        replicas=args.replicas,
        replicas_sqlite=False if args.no_sqlite else None,
    )


async def run(
    plan: Plan, only: list[str], work: Path, source: Path | None
) -> dict[str, dict[str, Any]]:
    # imported here so that `--source` decides which `bot` package the scoring code reads
    from .followups import followups
    from .replicas import replicas
    from .scale import scale
    from .scenarios import (
        ack_latency,
        batch_details,
        batches,
        bot_cpu,
        efficiency,
        first_text,
        time_to_final,
    )
    from .side import side_by_side
    from .stack import Stack

    stack = Stack(work, source)
    await asyncio.to_thread(stack.start_emulators)
    out: dict[str, dict[str, Any]] = {}

    async def attempt(name: str, job: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        began = time.monotonic()
        print(f"[bench] {name} …", flush=True)
        try:
            out[name] = await job()
        except Exception as error:
            traceback.print_exc()
            out[name] = {"error": f"{type(error).__name__}: {error}", "rows": []}
        out[name]["elapsed_s"] = round(time.monotonic() - began, 1)
        print(f"[bench] {name} done in {out[name]['elapsed_s']:.0f} s", flush=True)

    try:
        if "acks" in only:
            await attempt("ack_latency", lambda: ack_latency(stack, plan))
        if "stream" in only:
            sets: dict[str, Any] = {}

            async def measure() -> dict[str, Any]:
                sets.update(await batches(stack, plan))
                return {"rows": [], "batches": batch_details(sets)}

            await attempt("batches", measure)
            if sets:
                out["first_text"] = first_text(sets, plan)
                out["time_to_final"] = time_to_final(sets, plan)
                out["efficiency"] = efficiency(sets, plan)
                out["bot_cpu"] = bot_cpu(sets, plan)
        if "side" in only:
            await attempt("side_by_side", lambda: side_by_side(stack, plan))
        if "scale" in only:
            await attempt("scale", lambda: scale(stack, plan))
        if "followups" in only:
            await attempt("followups", lambda: followups(stack, plan))
        if "replicas" in only:
            await attempt("replicas", lambda: replicas(stack, plan))
    finally:
        await stack.aclose()
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    source = args.source.resolve() if args.source else None
    if source is not None:
        sys.path.insert(0, str(source))
    plan = make_plan(args)
    only = args.only.split(",")
    started = datetime.now(UTC)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="handinger-bench-") as tmp:
        work = args.work or Path(tmp)
        scenarios = asyncio.run(run(plan, only, work, source))
    results = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "quick": plan.quick,
        "elapsed_s": round(time.monotonic() - began, 1),
        "machine": machine(),
        "code": code_version(source),
        "plan": plan.as_json(),
        "scenarios": scenarios,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%d-%H%M%S") + ("-quick" if plan.quick else "")
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    text = markdown(results)
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    print(f"[bench] results: {args.out / stem}.json")
    if args.chart and "rounds_detail" in scenarios.get("side_by_side", {}):
        from .chart import chart

        print(f"[bench] chart: {chart(results, args.out / f'{stem}-side.png')}")
    return 1 if any("error" in s for s in scenarios.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
