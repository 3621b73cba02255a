"""Benchmark harness (issue 7): responsiveness, Slack-call efficiency and scale, measured side
by side against two baseline relays.

`python -m bench` (or `make bench`) starts the Handinger emulator, the Slack emulator (strict
rate limits) and the bot as separate processes, runs the scenarios, and writes
`bench/results/<date>.json` and `.md`. Every number comes from the emulators' own records: the
Slack emulator's call log, message versions and ack log, and the Handinger emulator's request
log. See BENCHMARKS.md for the latest results and what each number means.

Modules: `plan` (sizes of the full and `--quick` runs), `usage` (CPU and memory from /proc),
`stack` (emulators and bot, started by
`emulators.harness`; their control APIs), `measure` (pure scoring), `batch` (one batch of runs),
`scenarios` (1–4), `scale` (5) and `tally` (its Slack counts), `replicas` (5 with several bots
on PostgreSQL: `balancer` in front of them, `database` for the server's side), `side` and
`relays` (6), `followups` (7), `report` (machine, Markdown).
"""
