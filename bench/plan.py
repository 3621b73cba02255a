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
    scale_workspaces: int = 20
    """Workspaces the runs are spread over evenly, each installed with OAuth (bot in HTTP mode)."""
    scale_channels: int = 5
    """Channels per workspace: with 1,000 runs over 20 workspaces, 10 runs a channel. The bot
    paces its card posts to 1 a second per channel, so the last card of a channel is posted
    about 8 s after its command (and its Handinger turn starts then)."""
    scale_turn: float = 75.0
    scale_time_scale: float = 1.0
    """Real time. 50 runs a workspace post 50 cards, inside chat.postMessage's workspace burst
    of 60 (300/min), so no time scale is needed; final edits are paced by the bot itself in
    real time (45 chat.update a minute per workspace), which no Slack time scale changes."""
    scale_drain: float = 300.0
    """Real seconds to keep collecting final answers after the last turn ended (the finals of
    50 runs a workspace need about 67 s at 45 edits a minute)."""
    scale_wait_all: bool = False
    """Wait (up to an hour) until every final answer is delivered instead."""

    # 5 with replicas (issue 15): the scale load on each variant, one after another
    replicas: tuple[int, ...] = (1, 3)
    """Bots on one PostgreSQL database, one variant each (3: behind a round-robin balancer)."""
    replicas_sqlite: bool = True
    """Also one bot on SQLite first: the embedded default, as scenario 5 runs it."""

    # 6. side by side
    side_runs: int = 10
    side_reps: int = 3
    side_turn: float = 20.0

    # 7. follow-ups in threads: native streaming vs the edit path
    followup_sizes: tuple[int, ...] = (10, 50)
    followup_turn: float = 10.0

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
            scale_runs=6,
            scale_workspaces=3,
            scale_channels=1,
            scale_turn=2.0,
            scale_drain=30.0,
            side_runs=2,
            side_reps=1,
            side_turn=2.0,
            followup_sizes=(3,),
            followup_turn=2.0,
        )

    def with_overrides(self, **changes: Any) -> Plan:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
