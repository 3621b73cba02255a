"""A recording surface and a fast runner policy, shared by the core runner's tests."""

from __future__ import annotations

from pathlib import Path

from bot.core.ports import Mark, Notice
from bot.core.runner import Runner, RunnerPolicy
from bot.core.views import LiveView, RunView
from bot.handinger import HandingerClient
from bot.store import Run, Store

FAST = RunnerPolicy(tick=0.2, poll_initial=0.05, poll_max=0.2)


class RecordingSurface:
    """Stands in for Slack only to observe what the core asks it to show."""

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.posted: dict[str, str] = {}  # messages a stopped process posted, by run ref
        self.searched: list[int] = []
        self.progress_views: dict[int, list[RunView]] = {}
        self.finals: dict[int, list[RunView]] = {}
        self.marks: list[tuple[str | None, Mark]] = []
        self.told: list[Notice] = []

    async def open(self, run: Run, view: RunView) -> str:
        self.opened.append(run.id)
        return f"{run.id}.000{len(self.opened)}"

    async def find(self, run: Run) -> str | None:
        self.searched.append(run.id)
        return self.posted.get(run.ref or "")

    def progress(self, run: Run, live: LiveView) -> None:
        self.progress_views.setdefault(run.id, []).append(live.build())

    async def finish(self, run: Run, view: RunView) -> None:
        self.finals.setdefault(run.id, []).append(view)

    async def mark(self, run: Run, mark: Mark) -> None:
        self.marks.append((run.trigger_ts, mark))

    async def tell(self, run: Run, notice: Notice) -> None:
        self.told.append(notice)


def make_runner(tmp_path: Path, handinger: HandingerClient, surface: RecordingSurface) -> Runner:
    return Runner(Store(tmp_path / "state.db"), handinger, surface, policy=FAST)
