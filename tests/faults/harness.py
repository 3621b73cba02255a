"""The stack a fault case drives: `Stack` plus a record of what users did, when the bot was up,
and the emulators' fault controls, so the shared invariants can judge the outcome."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from emulators.harness import Child
from tests.e2e import Stack, wait_until
from tests.faults.reading import working_cards

SETTLE_TIMEOUT = 45.0
QUIET_SECONDS = 1.5
STUCK_SECONDS = 8.0


@dataclass
class Record:
    """What the users of one try did, and when the bot could hear them."""

    new_runs: list[str] = field(default_factory=list)
    """Instructions sent to start a worker (slash commands, mentions, schedules)."""
    followups: list[str] = field(default_factory=list)
    """Thread replies sent to continue a worker."""
    extra_turns: int = 0
    """Turns nobody typed: scheduled runs the try made fire."""
    actors: set[str] = field(default_factory=set)
    """Users who did something: their own mentions in the app's messages are legitimate."""
    channels: set[str] = field(default_factory=lambda: {"C0001"})
    alive: list[list[float]] = field(default_factory=list)
    """[start, end] wall-clock intervals during which the bot process was up."""
    notes: dict[str, Any] = field(default_factory=dict)
    """What a try's own outcome check needs to remember (a card's ts, a count before)."""

    def typed(self) -> Counter[str]:
        return Counter(self.new_runs + self.followups)


class FaultStack(Stack):
    """A `Stack` that remembers what each try did and drives both emulators' fault controls."""

    def __init__(self, slack: Child, handinger: Child, tmp: Any) -> None:
        super().__init__(slack, handinger, tmp)
        self.record = Record()
        self.bot_env_overrides: dict[str, str | None] = {}

    # ---- the bot process ------------------------------------------------------------------

    def start_bot(self, **overrides: str | None) -> Child:
        self.bot_env_overrides = {**self.bot_env_overrides, **overrides}
        bot = super().start_bot(**self.bot_env_overrides)
        self.record.alive.append([time.time(), float("inf")])
        return bot

    def _ended(self) -> None:
        if self.record.alive and self.record.alive[-1][1] == float("inf"):
            self.record.alive[-1][1] = time.time()

    def kill(self) -> None:
        """SIGKILL: the crash case, no cleanup code runs."""
        assert self.bot is not None
        self._ended()
        self.bot.kill()

    def restart(self) -> Child:
        """Start the bot again on the same database, with the same settings."""
        return self.start_bot()

    def stop(self) -> None:
        self._ended()
        super().stop()

    def bot_url(self) -> str:
        assert self.bot is not None
        return self.bot.url

    def bot_output(self) -> list[str]:
        return list(self.bot.output) if self.bot is not None else []

    # ---- users ------------------------------------------------------------------------------

    def run(self, text: str, channel: str = "C0001", user: str = "U0001") -> dict[str, Any]:
        """A slash command that starts a worker."""
        self.record.new_runs.append(text)
        self.record.actors.add(user)
        self.record.channels.add(channel)
        return self.slash(text, channel=channel, user=user)

    def command(self, text: str, channel: str = "C0001", user: str = "U0001") -> dict[str, Any]:
        """A slash command that starts no worker (help, status, schedules, …)."""
        self.record.actors.add(user)
        self.record.channels.add(channel)
        return self.slash(text, channel=channel, user=user)

    def reply(self, text: str, thread_ts: str, user: str = "U0001") -> str:
        """A reply in a worker's thread: one more turn."""
        self.record.followups.append(text)
        self.record.actors.add(user)
        return self.post(text, thread_ts=thread_ts, user=user)

    def click(self, message_ts: str, value: str, user: str = "U0001") -> dict[str, Any]:
        """Pick `value` in a finished card's ⋯ menu."""
        self.record.actors.add(user)
        body = {
            "channel": "C0001",
            "message_ts": message_ts,
            "action_id": "run_actions",
            "user": user,
            "value": value,
        }
        response = self.slack.post("/_emulator/actions", json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    # ---- fault controls ---------------------------------------------------------------------

    def slack_fault(self, **spec: Any) -> None:
        self.slack.post("/_emulator/faults", json=spec).raise_for_status()

    def clear_slack_faults(self) -> None:
        self.slack.delete("/_emulator/faults").raise_for_status()

    def slack_held(self) -> int:
        held: int = self.slack.get("/_emulator/faults").json()["held"]
        return held

    def release_slack(self) -> None:
        self.slack.post("/_emulator/release").raise_for_status()

    def handinger_fault(self, **spec: Any) -> None:
        self.handinger.post("/_emulator/faults", json=spec).raise_for_status()

    def release_handinger(self) -> None:
        """Let requests held by a Handinger `hold` fault go (see the recovery branch)."""
        self.handinger.post("/_emulator/release").raise_for_status()

    def stream_fault(self, **spec: Any) -> None:
        # ASCII-escaped JSON, so text meant to become invalid UTF-8 (lone surrogates) survives
        body = json.dumps(spec).encode()
        headers = {"Content-Type": "application/json"}
        self.handinger.post("/_emulator/stream-faults", content=body, headers=headers)

    def answer(
        self,
        text: str,
        match: str = "",
        sources: list[dict[str, str]] | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` turns whose instruction contains `match` answer `text`."""
        body: dict[str, Any] = {"text": text, "match": match, "count": count}
        if sources is not None:
            body["sources"] = sources
        self.handinger.post("/_emulator/answers", json=body).raise_for_status()

    def advance(self, seconds: float) -> None:
        self.handinger.post("/_emulator/clock", json={"advance": seconds}).raise_for_status()

    # ---- looking ----------------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.handinger.get("/_emulator/requests").json()
        return found

    def held_handinger(self, method: str, path: str) -> list[dict[str, Any]]:
        """Requests Handinger has received but not answered yet."""
        return [
            r
            for r in self.requests()
            if r["method"] == method and r["path"].startswith(path) and r["finished"] is None
        ]

    def wait_slack_held(self, what: str = "a held Slack call") -> None:
        wait_until(lambda: self.slack_held() > 0, timeout=30, what=what)

    def acks(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.slack.get("/_emulator/acks").json()["acks"]
        return found

    def health(self) -> dict[str, Any] | None:
        """The bot's /healthz, or None while it is down or too busy to answer."""
        if self.bot is None or not self.bot.alive():
            return None
        try:
            found: dict[str, Any] = httpx.get(f"{self.bot_url()}/healthz", timeout=5).json()
        except httpx.HTTPError:
            return None
        return found

    def all_messages(self) -> list[dict[str, Any]]:
        """Every message of every channel the try used, replies flattened after their root."""
        found: list[dict[str, Any]] = []
        for channel in sorted(self.record.channels):
            for message in self.messages(channel):
                found.append({**message, "channel": channel})
                found += [{**r, "channel": channel} for r in message.get("replies", [])]
        return found

    def ephemerals(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.slack.get("/_emulator/ephemeral").json()["ephemeral"]
        return found

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Wait until nothing moves: no turn running, no card working, the bot idle and both
        emulators quiet for a moment. False if that did not happen in time (the invariants then
        say what is wrong)."""
        deadline = time.monotonic() + timeout
        last: int | None = None
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            busy = any(w["status"] == "running" for w in self.workers())
            health = self.health()
            active = health is None or bool(health.get("active_runs"))
            marks = len(self.calls())  # Handinger is polled by the schedule watcher
            if marks != last:
                last, quiet_since = marks, time.monotonic()
            quiet_for = time.monotonic() - quiet_since
            if quiet_for >= QUIET_SECONDS and not busy and not active:
                if not working_cards(self):
                    return True
                if quiet_for >= STUCK_SECONDS:
                    return False  # a card says working but nothing is left to change it
            time.sleep(0.25)
        return False
