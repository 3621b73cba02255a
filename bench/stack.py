"""The system under test: the Handinger emulator, the Slack emulator and the bot, as processes.

`Stack` starts the emulators once, starts a fresh bot (new SQLite file) for every scenario, and
wraps the emulators' control APIs (`/_emulator/…`) that the scenarios drive and measure with.

The bot runs either in Socket Mode with one bot token in workspace T0001 (`start_bot`), or in
HTTP mode with OAuth installs into many workspaces (`start_oauth_bot`, then `install` into each
workspace made with `add_workspace`), exactly as `tests/test_bot_e2e_oauth.py` runs it. In HTTP
mode several replicas can share one PostgreSQL database behind a round-robin balancer
(`bench.balancer`); `replicas` lists them.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx

from emulators.credentials import HANDINGER_KEY
from emulators.harness import Child, bot_env, oauth_bot, server

USER = "U0001"
FINAL_PREFIXES = ("✅", "❌")
STATE_COOKIE = "slack-app-oauth-state"
"""The cookie Bolt's install page sets and its redirect endpoint checks against `state`."""
INSTALL_LINK = re.compile(r'<a href="([^"]+)"')

JSON = dict[str, Any]


@dataclass(slots=True)
class Workspace:
    """A workspace made with `POST /_emulator/workspaces`: its admin (who types the commands
    and approves the install) and the channels the benchmark uses."""

    team: str
    user: str
    channels: list[str] = field(default_factory=list)


class Stack:
    """Emulators and bot for one benchmark invocation; logs and databases under `work`."""

    def __init__(self, work: Path, source: Path | None = None) -> None:
        self.work = work
        self.source = source
        """Another checkout whose app and emulators are measured instead of this one's."""
        self.logs = work / "logs"
        self.handinger: Child | None = None
        self.slack: Child | None = None
        self.bot: Child | None = None
        self.replicas: list[Child] = []
        """Every bot process running now; `bot` is the first."""
        self.balancer: Child | None = None
        self.replica_urls: list[str] = []
        """Each replica's own base URL in HTTP mode (the balancer's upstreams)."""
        self.bot_url = ""
        """The bot's own HTTP server (request URL, install page) when started in HTTP mode."""
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
            self.emulator_module("handinger"),
            ["--port", "0"],
            name="handinger",
            log=self.logs / "handinger.log",
            env=self.env,
            cwd=self.source,
        )
        self.slack = self.slack_emulator("slack")

    def emulator_module(self, name: str) -> str:
        """`emulators.<name>`; a `--source` checkout from before they moved has them under
        `bot/sandbox/`, so that side-by-side runs against older code still work."""
        if self.source is not None and not (self.source / "emulators").is_dir():
            return f"bot.sandbox.{name}"
        return f"emulators.{name}"

    def slack_emulator(self, name: str, *extra: str) -> Child:
        return server(
            self.emulator_module("slack"),
            ["--port", "0", "--rate-limits", "strict", *extra],
            name=name,
            log=self.logs / f"{name}.log",
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

    async def start_bot(self, **settings: str) -> Child:
        """A fresh bot process (new database) in Socket Mode, with these extra settings;
        returns once it is connected."""
        await self.stop_bot()
        await self._spawn_bot(**settings)
        await self.slack_get("/_emulator/connections", min=1, timeout=30)
        assert self.bot is not None
        return self.bot

    async def start_oauth_bot(self, replicas: int = 1, database_url: str | None = None) -> Child:
        """Fresh bot processes (new databases) in HTTP mode with OAuth installs and no bot
        token at all. The Slack emulator is pointed at them first: signed HTTP delivery to the
        request URL, and the Redirect URL registered. Install it into workspaces with `install`.

        `replicas` > 1 start that many bots on one `database_url` (PostgreSQL) behind a
        round-robin balancer (`bench.balancer`), whose URL Slack and the installs use."""
        await self.stop_bot()
        front = oauth_bot()  # the URL Slack and admins use: the bot's, or the balancer's
        bots = [front] if replicas == 1 else [oauth_bot() for _ in range(replicas)]
        await self.slack_post("/_emulator/config", front.slack_config)
        database = {"DATABASE_URL": database_url} if database_url else {}
        redirect = front.settings["SLACK_REDIRECT_URI"]
        for bot in bots:
            await self._spawn_bot(**{**bot.settings, "SLACK_REDIRECT_URI": redirect}, **database)
        self.replica_urls = [bot.base for bot in bots]
        for replica in self.replica_urls:
            health = await self.http.get(f"{replica}/healthz")
            if health.json().get("mode") != "http":
                raise RuntimeError(f"the bot did not start in HTTP mode: {health.text}")
        if replicas > 1:
            self.balancer = await asyncio.to_thread(
                server,
                "bench.balancer",
                ["--port", front.base.rsplit(":", 1)[1], *self.replica_urls],
                name="balancer",
                log=self.logs / f"balancer-{self._bots}.log",
            )
        self.bot_url = front.base
        return self.replicas[0]

    async def _spawn_bot(self, **settings: str | None) -> None:
        """One more bot process, with a home (and SQLite file) of its own; the first of
        `replicas` is `bot`."""
        self._bots += 1
        home = self.work / f"bot-{self._bots}"
        home.mkdir(parents=True, exist_ok=True)
        env = bot_env(self.slack_url, self.handinger_url, home / "bot.db", **settings, **self.env)
        name = f"bot-{self._bots}"
        log = self.logs / f"{name}.log"
        child = await asyncio.to_thread(
            server, "bot", ["run"], name=name, log=log, env=env, cwd=home
        )
        self.replicas.append(child)
        self.bot = self.replicas[0]

    async def install(self, team: str) -> None:
        """What an admin does to add the app to a workspace: open the bot's install page, follow
        its "Add to Slack" link to Slack's authorize page (the emulator approves at once), and
        come back to the bot's redirect URL with the code and the state cookie."""
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as browser:
            page = await browser.get(f"{self.bot_url}/slack/install", params={"team": team})
            page.raise_for_status()
            cookies = [c for c in page.headers.get_list("set-cookie") if c.startswith(STATE_COOKIE)]
            link = INSTALL_LINK.search(page.text)
            if not cookies or link is None:
                raise RuntimeError(f"no install link or state cookie on {team}'s install page")
            state = cookies[0].split(";", 1)[0]  # `name=value`; it is Secure: sent by hand
            approved = await browser.get(html.unescape(link.group(1)))
            if approved.status_code != 302:
                raise RuntimeError(f"Slack refused to authorize {team}: {approved.text}")
            back = await browser.get(approved.headers["location"], headers={"Cookie": state})
            if back.status_code != 200 or f"team={team}" not in back.text:
                raise RuntimeError(f"install into {team} failed: {back.status_code} {back.text}")

    async def balanced(self) -> list[int] | None:
        """How many requests the balancer sent each replica, in `replicas` order (None
        without a balancer)."""
        if self.balancer is None:
            return None
        sent = (await self.slack_get("/_balancer/stats", base=self.bot_url))["sent"]
        return [int(sent[url]) for url in sent]

    async def statements(self) -> list[int | None]:
        """Statements each replica says it sent its database so far (`/healthz`
        `database_statements`), None from a bot that does not count them."""
        answers = [await self.http.get(f"{url}/healthz") for url in self.replica_urls]
        counts = [a.json().get("database_statements") for a in answers]
        return [int(n) if isinstance(n, int) else None for n in counts]

    async def stop_bot(self) -> None:
        """Stop every replica (at once: each has its lease release to do) and the balancer."""
        await asyncio.gather(*(asyncio.to_thread(bot.stop) for bot in self.replicas))
        if self.balancer is not None:
            await asyncio.to_thread(self.balancer.stop)
        self.replicas, self.bot, self.balancer, self.replica_urls = [], None, None, []
        self.bot_url = ""

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
            f"{self.handinger_url}{path}", headers={"Authorization": f"Bearer {HANDINGER_KEY}"}
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

    async def make_channels(
        self,
        count: int,
        prefix: str,
        base: str | None = None,
        *,
        team: str | None = None,
        user: str = USER,
    ) -> list[str]:
        """Public channels where alice (U0001, or `user` in `team`) and the bot are members."""
        made = []
        for index in range(count):
            body: JSON = {"name": f"{prefix}-{index + 1}", "members": [user], "bot_member": True}
            if team is not None:
                body["team"] = team
            answer = await self.slack_post("/_emulator/channels", body, base=base)
            made.append(str(answer["channel"]["id"]))
        return made

    async def add_workspace(self, channels: int, prefix: str) -> Workspace:
        """A new workspace where the app is not installed yet (it takes an OAuth install), with
        `channels` public channels where its admin and the bot are members."""
        answer = await self.slack_post("/_emulator/workspaces", {"installed": False})
        made = answer["workspace"]
        admin = next(str(u["id"]) for u in made["users"] if u["is_admin"])
        team = str(made["id"])
        where = Workspace(team, admin)
        where.channels = await self.make_channels(
            channels, f"{prefix}-{team.lower()}", team=team, user=admin
        )
        return where

    async def slash(
        self, channel: str, text: str, *, team: str | None = None, user: str = USER
    ) -> JSON:
        """`/handinger text` typed by alice (or `user` in `team`); returns once the bot acked
        (with `ack_ms`)."""
        body: JSON = {"channel": channel, "user": user, "text": text}
        if team is not None:
            body["team"] = team
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
        """Poll the Slack call log until `count` messages got a final card edit; returns how
        many did (fewer when `within` real seconds passed first). A message edited to a final
        twice (two processes finishing one run) counts once."""
        deadline = time.monotonic() + within
        seen: set[tuple[str, str]] = set()
        while True:
            fresh = await self.calls(method="chat.update", since=since)
            for call in fresh:
                since = max(since, int(call["seq"]))
                args = call.get("args", {})
                if call.get("ok") and str(args.get("text", "")).startswith(FINAL_PREFIXES):
                    seen.add((str(args.get("channel")), str(args.get("ts"))))
            if len(seen) >= count or time.monotonic() > deadline:
                return len(seen)
            await asyncio.sleep(0.5)


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    """Run coroutines with at most `limit` in flight, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))
