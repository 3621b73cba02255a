"""Background tasks kept under a key (a workspace, a worker), so that the app can cancel the
ones of a workspace it leaves, or all of them when it stops, and wait for them to end."""

from __future__ import annotations

import asyncio
from collections.abc import Container, Coroutine
from typing import Any, Generic, TypeVar

K = TypeVar("K")


class Tasks(Generic[K]):
    """The running tasks, each under its key; a task leaves the set when it ends."""

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[None], K] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None], key: K) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks[task] = key
        task.add_done_callback(self._done)
        return task

    def cancel(self, keys: Container[K] | None = None) -> int:
        """Cancel the tasks under `keys` (every task when None); return how many were still
        running."""
        cancelled = 0
        for task, key in list(self._tasks.items()):
            if (keys is None or key in keys) and not task.done():
                task.cancel()
                cancelled += 1
        return cancelled

    async def wait(self) -> None:
        """Until every task has ended, those the ending ones start included."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel every task and wait for them to end."""
        self.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
