"""The whole app as users meet it: the bot process between the Slack and Handinger emulators."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import psycopg

from bot.slack.markdown import markdown_to_mrkdwn
from bot.store.postgres import pg_query
from emulators.credentials import HANDINGER_KEY
from emulators.harness import Child, bot_env, oauth_bot, server

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], timeout: float = 60.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def section_text(message: dict[str, Any]) -> str:
    """The text of a message's section blocks, which is where the answer is shown."""
    parts = []
    for block in message.get("blocks") or []:
        if block.get("type") == "section" and block.get("text"):
            parts.append(block["text"]["text"])
    return "\n".join(parts)


def squash(text: str) -> str:
    return "".join(text.split())


def is_final(message: dict[str, Any]) -> bool:
    return str(message.get("text", "")).startswith(("✅", "❌"))


def answer_shown(stack: Stack, message: dict[str, Any], worker_id: str) -> None:
    """The message shows the worker's final answer (as fetched from Handinger), in full."""
    expected = markdown_to_mrkdwn(stack.worker(worker_id)["output_text"])
    assert squash(expected) in squash(section_text(message))


class Stack:
    """Drives the emulators' control APIs and runs the bot as a real process."""

    def __init__(self, slack: Child, handinger: Child, tmp: Path) -> None:
        self.slack_url = slack.url
        self.handinger_url = handinger.url
        self.tmp = tmp
        self.slack = httpx.Client(base_url=slack.url, timeout=30)
        self.handinger = httpx.Client(
            base_url=handinger.url,
            timeout=30,
            headers={"Authorization": f"Bearer {HANDINGER_KEY}"},
        )
        self.bot: Child | None = None
        self.database_url: str | None = None  # the bot's DATABASE_URL, when on PostgreSQL

    def bot_env(self, **overrides: str | None) -> dict[str, str]:
        # These tests check the edited card everywhere; tests/test_bot_e2e_agent.py turns native
        # streaming (the default) on for the answers that live in threads.
        database = {"DATABASE_URL": self.database_url} if self.database_url else {}
        settings = {"SLACK_NATIVE_STREAMING": "false", **database, **overrides}
        return bot_env(self.slack_url, self.handinger_url, self.tmp / "bot.db", **settings)

    def start_bot(self, **overrides: str | None) -> Child:
        self.bot = server("bot", ["run"], env=self.bot_env(**overrides), cwd=self.tmp)
        return self.bot

    def start_oauth_bot(self) -> str:
        """The bot in HTTP mode with OAuth installs and no bot token at all; returns its base
        URL, which the Slack emulator delivers to and redirects installs back to."""
        oauth = oauth_bot()
        self.slack.post("/_emulator/config", json=oauth.slack_config).raise_for_status()
        self.start_bot(**oauth.settings)
        return oauth.base

    @contextmanager
    def fresh(self) -> Iterator[Self]:
        """Both emulators back to their start state (Socket Mode delivery) for this stack;
        its bot and clients stopped when the block ends."""
        self.slack.post("/_emulator/reset").raise_for_status()
        self.slack.post("/_emulator/config", json={"request_url": None}).raise_for_status()
        self.handinger.post("/_emulator/reset").raise_for_status()
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        if self.bot is not None:
            self.bot.stop()
        self.slack.close()
        self.handinger.close()

    # ---- acting like users ------------------------------------------------------------------

    def slash(self, text: str, channel: str = "C0001", user: str = "U0001") -> dict[str, Any]:
        response = self.slack.post(
            "/_emulator/slash", json={"channel": channel, "user": user, "text": text}
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def post(
        self, text: str, channel: str = "C0001", user: str = "U0001", thread_ts: str | None = None
    ) -> str:
        body: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread_ts:
            body["thread_ts"] = thread_ts
        response = self.slack.post("/_emulator/messages", json=body)
        response.raise_for_status()
        return str(response.json()["ts"])

    # ---- looking ------------------------------------------------------------------------------

    def messages(self, channel: str = "C0001") -> list[dict[str, Any]]:
        response = self.slack.get(f"/_emulator/channels/{channel}/messages")
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def bot_messages(self, channel: str = "C0001") -> list[dict[str, Any]]:
        return [m for m in self.messages(channel) if m.get("bot_id")]

    def message(self, ts: str, channel: str = "C0001") -> dict[str, Any] | None:
        for message in self.messages(channel):
            if message["ts"] == ts:
                return message
            replies: list[dict[str, Any]] = message.get("replies", [])
            for reply in replies:
                if reply["ts"] == ts:
                    return reply
        return None

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of the bot's database (PostgreSQL with `database_url`, else its SQLite file),
        for what neither Slack nor Handinger shows; `?` placeholders on both."""
        if self.database_url is not None:
            with psycopg.connect(self.database_url) as conn:
                return list(conn.execute(pg_query(query), params).fetchall())
        with sqlite3.connect(self.tmp / "bot.db") as db:
            return list(db.execute(query, params).fetchall())

    def ephemeral(self, user: str = "U0001") -> list[dict[str, Any]]:
        response = self.slack.get("/_emulator/ephemeral", params={"user": user})
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["ephemeral"]
        return found

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else {}
        response = self.slack.get("/_emulator/calls", params=params)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["calls"]
        return found

    def workers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.handinger.get("/_emulator/workers").json()
        return found

    def worker(self, worker_id: str) -> dict[str, Any]:
        response = self.handinger.get(f"/api/workers/{worker_id}")
        response.raise_for_status()
        worker: dict[str, Any] = response.json()
        return worker

    def wait_final_card(
        self, channel: str = "C0001", count: int = 1, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        def finals() -> list[dict[str, Any]] | None:
            done = [m for m in self.bot_messages(channel) if is_final(m)]
            return done if len(done) >= count else None

        return wait_until(finals, timeout, what=f"{count} final card(s) in {channel}")

    def wait_final_reply(self, thread_ts: str, count: int, channel: str = "C0001") -> list[Any]:
        def finals() -> list[dict[str, Any]] | None:
            root = self.message(thread_ts, channel)
            if root is None:
                return None
            done = [r for r in root.get("replies", []) if r.get("bot_id") and is_final(r)]
            return done if len(done) >= count else None

        return wait_until(finals, what=f"{count} final repl(ies) under {thread_ts}")
