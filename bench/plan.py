"""How big each scenario is: the full benchmark, and the `--quick` smoke variant."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and timings. Turn lengths are real seconds (the Handinger emulator never scales
    turns); `*_time_scale` is the Slack emulator's time scale (rate-limit windows only)."""

    quick: bool = False
    chunks: int = 40
    """Text deltas per scripted turn (the emulator's default)."""

    # 1. ack latency while runs stream
    ack_streaming: int = 200
    ack_probes: int = 50
    ack_channels: int = 20
    ack_turn: float = 60.0
    ack_time_scale: float = 10.0

    # 2 and 3 with one run, repeated
    single_reps: int = 5
    single_turn: float = 6.0

    # 2 and 3 with 10 concurrent runs
    ten_runs: int = 10
    ten_reps: int = 3
    ten_turn: float = 10.0

    # 4 (and 2, 3 at 50 concurrent runs)
    fifty_runs: int = 50
    fifty_reps: int = 3
    fifty_turn: float = 30.0

    # 5. scale
    scale_runs: int = 1000
    scale_channels: int = 20
    scale_turn: float = 75.0
    scale_time_scale: float = 20.0
    scale_drain: float = 60.0
    """Real seconds to keep collecting final answers after the last turn ended."""
    scale_wait_all: bool = False
    """Wait (up to an hour) until every final answer is delivered instead."""
    scale_fit_runs: int = 100
    """Then the largest load the bot completes: its Handinger HTTP client (httpx's default
    pool) holds at most 100 connections, so at most 100 turns stream at once. 0 skips it."""
    scale_fit_turn: float = 45.0

    # 6. side by side
    side_runs: int = 10
    side_reps: int = 3
    side_turn: float = 20.0

    runs_per_channel: int = 2
    """Slack allows 3 chat.postMessage at once per channel, then 1 a second: 2 runs a channel
    keeps the cards' own posts clear of that limit, so every 429 counted is the relay's doing."""

    @classmethod
    def full(cls) -> Plan:
        return cls()

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls(
            quick=True,
            chunks=10,
            ack_streaming=5,
            ack_probes=5,
            ack_channels=3,
            ack_turn=8.0,
            single_reps=1,
            single_turn=1.5,
            ten_runs=3,
            ten_reps=1,
            ten_turn=1.5,
            fifty_runs=3,
            fifty_reps=1,
            fifty_turn=2.0,
            scale_runs=8,
            scale_channels=4,
            scale_turn=2.0,
            scale_drain=30.0,
            scale_wait_all=True,
            scale_fit_runs=4,
            scale_fit_turn=1.5,
            side_runs=2,
            side_reps=1,
            side_turn=2.0,
        )

    def with_overrides(self, **changes: Any) -> Plan:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
