"""The system under test: the Handinger emulator, the Slack emulator and the bot, as processes.

`Stack` starts the emulators once, starts a fresh bot (new SQLite file) for every scenario, and
wraps the emulators' control APIs (`/_emulator/…`) that the scenarios drive and measure with.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, cast

import httpx

from .procs import Child, server

KEY = "test-key"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
TEAM = "T0001"
USER = "U0001"
FINAL_PREFIXES = ("✅", "❌")

JSON = dict[str, Any]


class Stack:
    """Emulators and bot for one benchmark invocation; logs and databases under `work`."""

    def __init__(self, work: Path, source: Path | None = None) -> None:
        self.work = work
        self.source = source
        """Another checkout whose `bot/` (app and emulators) is measured instead of this one."""
        self.logs = work / "logs"
        self.handinger: Child | None = None
        self.slack: Child | None = None
        self.bot: Child | None = None
        self._bots = 0
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(120.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    # ---- processes ------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.source)} if self.source else {}

    def start_emulators(self) -> None:
        self.handinger = server(
            "handinger",
            "bot.sandbox.handinger",
            ["--port", "0", "--api-key", KEY],
            self.logs,
            env=self.env,
            cwd=self.source,
        )
        self.slack = self.slack_emulator("slack")

    def slack_emulator(self, name: str, *extra: str) -> Child:
        return server(
            name,
            "bot.sandbox.slack",
            ["--port", "0", "--rate-limits", "strict", "--bot-token", BOT_TOKEN, *extra],
            self.logs,
            env=self.env,
            cwd=self.source,
        )

    @property
    def slack_url(self) -> str:
        assert self.slack is not None
        return self.slack.url

    @property
    def handinger_url(self) -> str:
        assert self.handinger is not None
        return self.handinger.url

    async def start_bot(self) -> Child:
        """A fresh bot process (new database) in Socket Mode; returns once it is connected."""
        await self.stop_bot()
        self._bots += 1
        home = self.work / f"bot-{self._bots}"
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_SIGNING_SECRET": "",
            "SLACK_API_URL": f"{self.slack_url}/api/",
            "HANDINGER_API_KEY": KEY,
            "HANDINGER_BASE_URL": self.handinger_url,
            "HANDINGER_DB": str(home / "bot.db"),
            "PORT": "0",
            "LOG_LEVEL": "INFO",
            **self.env,
        }
        name = f"bot-{self._bots}"
        self.bot = await asyncio.to_thread(
            server, name, "bot", ["run"], self.logs, env=env, cwd=home
        )
        await self.slack_get("/_emulator/connections", min=1, timeout=30)
        return self.bot

    async def stop_bot(self) -> None:
        if self.bot is not None:
            await asyncio.to_thread(self.bot.stop)
            self.bot = None

    async def aclose(self) -> None:
        await self.stop_bot()
        for child in (self.slack, self.handinger):
            if child is not None:
                child.stop()
        await self.http.aclose()

    # ---- control APIs ---------------------------------------------------------------------

    async def slack_get(self, path: str, *, base: str | None = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = await self.http.get(f"{base or self.slack_url}{path}", params=query)
        response.raise_for_status()
        return response.json()

    async def slack_post(
        self, path: str, body: JSON | None = None, *, base: str | None = None
    ) -> Any:
        response = await self.http.post(f"{base or self.slack_url}{path}", json=body or {})
        response.raise_for_status()
        return response.json()

    async def handinger_get(self, path: str) -> Any:
        response = await self.http.get(
            f"{self.handinger_url}{path}", headers={"Authorization": f"Bearer {KEY}"}
        )
        response.raise_for_status()
        return response.json()

    async def handinger_post(self, path: str, body: JSON) -> Any:
        response = await self.http.post(f"{self.handinger_url}{path}", json=body)
        response.raise_for_status()
        return response.json()

    async def reset(
        self, *, time_scale: float, turn_seconds: float, chunks: int, base: str | None = None
    ) -> None:
        """Both emulators back to their start state, then this scenario's knobs."""
        await self.slack_post("/_emulator/reset", base=base)
        await self.slack_post(
            "/_emulator/rate-limits", {"mode": "strict", "time_scale": time_scale}, base=base
        )
        if base is None:
            await self.handinger_post("/_emulator/reset", {})
            await self.handinger_post(
                "/_emulator/config", {"turn_seconds": turn_seconds, "chunks": chunks}
            )

    async def make_channels(self, count: int, prefix: str, base: str | None = None) -> list[str]:
        """Public channels where alice (U0001) and the bot are members."""
        made = []
        for index in range(count):
            body = {"name": f"{prefix}-{index + 1}", "members": [USER], "bot_member": True}
            answer = await self.slack_post("/_emulator/channels", body, base=base)
            made.append(str(answer["channel"]["id"]))
        return made

    async def slash(self, channel: str, text: str) -> JSON:
        """`/handinger text` typed by alice; returns once the bot acked (with `ack_ms`)."""
        body = {"channel": channel, "user": USER, "text": text}
        return cast(JSON, await self.slack_post("/_emulator/slash", body))

    async def post_message(self, channel: str, text: str, base: str | None = None) -> str:
        body = {"channel": channel, "user": USER, "text": text}
        answer = await self.slack_post("/_emulator/messages", body, base=base)
        return str(answer["ts"])

    async def calls(self, *, since: int = 0, base: str | None = None, **match: Any) -> list[JSON]:
        answer = await self.slack_get("/_emulator/calls", base=base, since=since, **match)
        return cast(list[JSON], answer["calls"])

    async def acks(self, **match: Any) -> list[JSON]:
        answer = await self.slack_get("/_emulator/acks", **match)
        return cast(list[JSON], answer["acks"])

    async def messages(self, channel: str, base: str | None = None) -> list[JSON]:
        answer = await self.slack_get(f"/_emulator/channels/{channel}/messages", base=base)
        return cast(list[JSON], answer["messages"])

    async def requests(self) -> list[JSON]:
        response = await self.http.get(f"{self.handinger_url}/_emulator/requests")
        response.raise_for_status()
        return cast(list[JSON], response.json())

    async def workers(self) -> list[JSON]:
        response = await self.http.get(f"{self.handinger_url}/_emulator/workers")
        response.raise_for_status()
        return cast(list[JSON], response.json())

    async def worker_texts(self, ids: list[str], concurrency: int = 16) -> dict[str, str]:
        """`output_text` of each worker (call only after the Handinger request log was read)."""
        gate = asyncio.Semaphore(concurrency)

        async def one(worker_id: str) -> tuple[str, str]:
            async with gate:
                worker = await self.handinger_get(f"/api/workers/{worker_id}")
                return worker_id, str(worker.get("output_text") or "")

        return dict(await asyncio.gather(*(one(i) for i in ids)))

    async def wait_finals(self, count: int, within: float, since: int = 0) -> int:
        """Poll the Slack call log until `count` final card edits went through; returns how
        many did (fewer when `within` real seconds passed first)."""
        deadline = time.monotonic() + within
        seen = 0
        while True:
            fresh = await self.calls(method="chat.update", since=since)
            for call in fresh:
                since = max(since, int(call["seq"]))
                text = str(call.get("args", {}).get("text", ""))
                if call.get("ok") and text.startswith(FINAL_PREFIXES):
                    seen += 1
            if seen >= count or time.monotonic() > deadline:
                return seen
            await asyncio.sleep(0.5)


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    """Run coroutines with at most `limit` in flight, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))
