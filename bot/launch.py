"""`handinger-slack sandbox`: both emulators and the bot, wired together on loopback.

A newcomer with no Slack app and no Handinger key sees the whole product work: the bot runs
exactly as in production (Socket Mode, SQLite, the edit scheduler) against local emulators.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import SecretStr

from .config import Settings
from .main import serve

LISTENING = re.compile(r"listening on (http://\S+)")


@contextlib.asynccontextmanager
async def emulator(module: str, *args: str) -> AsyncIterator[str]:
    """Run `python -m module` and yield its base URL once it listens."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = LISTENING.search(line)
        if match is None:
            raise RuntimeError(f"{module} did not start: {line!r}")
        yield match.group(1)
    finally:
        if process.returncode is None:
            process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)


def banner(slack: str, handinger: str, bot: int) -> str:
    return f"""
handinger-slack sandbox: the bot is running against local emulators of Slack and Handinger.

  Slack emulator      {slack}   (workspace T0001, you are U0001 in #general = C0001)
  Handinger emulator  {handinger}
  Bot health          http://127.0.0.1:{bot}/healthz

Ask something, as if you typed /handinger in #general:
  curl -s {slack}/_emulator/slash -H 'content-type: application/json' \\
       -d '{{"channel": "C0001", "user": "U0001", "text": "summarise this week [[files=2]]"}}'

Watch the channel (the card is edited as the answer streams in):
  curl -s {slack}/_emulator/channels/C0001/messages | python3 -m json.tool

Reply in the thread to continue the same worker (use the card's ts as thread_ts):
  curl -s {slack}/_emulator/messages -H 'content-type: application/json' \\
       -d '{{"channel": "C0001", "user": "U0001", "text": "and next week?", "thread_ts": "<ts>"}}'

Press Ctrl+C to stop.
"""


async def sandbox(port: int = 3000, data_dir: Path = Path(".sandbox")) -> None:
    async with (
        emulator("bot.sandbox.handinger", "--turn-seconds", "4") as handinger_url,
        emulator("bot.sandbox.slack") as slack_url,
    ):
        settings = Settings(
            _env_file=None,
            slack_bot_token=SecretStr("xoxb-test"),
            slack_app_token=SecretStr("xapp-test"),
            slack_api_url=f"{slack_url}/api/",
            handinger_api_key=SecretStr("test-key"),
            handinger_base_url=handinger_url,
            handinger_db=data_dir / "sandbox.db",
            port=port,
        )
        print(banner(slack_url, handinger_url, port), flush=True)
        await serve(settings, host="127.0.0.1")
