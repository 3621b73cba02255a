"""Helpers for the Handinger client tests, shared by the modules that drive the emulator."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx

from bot.handinger import HandingerClient, Worker


async def download(
    client: HandingerClient, url: str, *, max_bytes: int, allow_foreign: bool = False
) -> tuple[bytes, str]:
    """A published file in memory, with its media type."""
    buffer = io.BytesIO()
    result = await client.download_file_to(
        url, buffer, max_bytes=max_bytes, allow_foreign=allow_foreign
    )
    return buffer.getvalue(), result.media_type


class RecordingSleep:
    """Records the delays the retry loop asks for, and waits only a token amount."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def requests(control: httpx.Client, method: str | None = None, path: str = "") -> list[Any]:
    log: list[Any] = control.get("/_emulator/requests").json()
    return [
        r for r in log if (method is None or r["method"] == method) and r["path"].startswith(path)
    ]


def fault(control: httpx.Client, **spec: Any) -> None:
    control.post("/_emulator/faults", json=spec).raise_for_status()


async def until_done(client: HandingerClient, worker_id: str) -> Worker:
    for _ in range(400):
        worker = await client.get_worker(worker_id)
        if not worker.is_running:
            return worker
        await asyncio.sleep(0.05)
    raise AssertionError("worker never finished")
