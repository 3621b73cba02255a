"""Two baseline relays from a Handinger worker stream into Slack, for the side-by-side scenario.

    python -m bench.relays naive|chat_stream SPEC.json

`SPEC.json` is `{"slack": URL, "handinger": URL, "key", "token", "team", "runs": [{"channel",
"thread_ts", "user", "instruction"}]}`. The relay prints `ready`, waits for a line on stdin (so
every relay starts at the same moment), then serves all runs concurrently and prints one JSON
line `{"runs": [...]}` before exiting. Each run creates a worker with `stream: true` (the same
request our bot makes) and relays its `text-delta` chunks (Vercel AI SDK UI-message stream, the
emulator's default format):

- `naive`: posts a placeholder reply, then calls `chat.update` with the whole text so far on
  every chunk, awaiting each call. A progress update answered with 429 is dropped (retrying it
  would only delay the next, newer one); the final update is retried after `Retry-After` until
  it is accepted, so its answer is never lost. This is the kindest version of the naive relay.
- `chat_stream`: slack_sdk's `AsyncWebClient.chat_stream` helper (native streaming:
  chat.startStream / appendStream / stopStream) with its default buffer (256 chars), one
  `append(markdown_text=delta)` per chunk, `stop()` at the end. A call answered with 429 keeps
  its text in the helper's buffer (it is only cleared after a successful call), so it goes out
  with the next append; `stop()` is retried after `Retry-After` until accepted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

KINDS = ("naive", "chat_stream")


def retry_after(error: SlackApiError) -> float | None:
    """Seconds to wait if `error` is a 429, else None."""
    response = error.response
    if response is None or response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after", "1")
    if isinstance(value, list):
        value = value[0] if value else "1"
    try:
        return float(value)
    except ValueError:
        return 1.0


async def deltas(http: httpx.AsyncClient, spec: dict[str, Any], text: str) -> AsyncIterator[str]:
    """Create a worker with `stream: true` and yield its text deltas until the turn ends."""
    body = {"input": text, "stream": True}
    headers = {"Authorization": f"Bearer {spec['key']}"}
    url = f"{spec['handinger']}/api/workers"
    async with aconnect_sse(http, "POST", url, json=body, headers=headers) as source:
        async for event in source.aiter_sse():
            data = event.data.strip()
            if not data or data == "[DONE]":
                continue
            chunk = json.loads(data)
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            if kind == "text-delta":
                yield str(chunk.get("delta", ""))
            elif kind in ("finish", "error"):
                return


async def until_accepted(call: Any) -> tuple[Any, int]:
    """Await `call()` until Slack accepts it, waiting out 429s; returns (response, 429s)."""
    limited = 0
    while True:
        try:
            return await call(), limited
        except SlackApiError as error:
            wait = retry_after(error)
            if wait is None:
                raise
            limited += 1
            await asyncio.sleep(wait)


async def naive(
    client: AsyncWebClient, http: httpx.AsyncClient, spec: dict[str, Any], run: dict[str, Any]
) -> dict[str, Any]:
    channel = run["channel"]
    posted, limited = await until_accepted(
        lambda: client.chat_postMessage(channel=channel, thread_ts=run["thread_ts"], text="…")
    )
    ts = str(posted["ts"])
    text = ""
    dropped = 0
    async for delta in deltas(http, spec, run["instruction"]):
        text += delta
        try:
            await client.chat_update(channel=channel, ts=ts, text=text)
        except SlackApiError as error:
            if retry_after(error) is None:
                raise
            dropped += 1
    final = text
    _, final_limited = await until_accepted(
        lambda: client.chat_update(channel=channel, ts=ts, text=final)
    )
    return {"ts": ts, "dropped": dropped, "limited": limited + final_limited, "chars": len(text)}


async def chat_stream(
    client: AsyncWebClient, http: httpx.AsyncClient, spec: dict[str, Any], run: dict[str, Any]
) -> dict[str, Any]:
    streamer = await client.chat_stream(
        channel=run["channel"],
        thread_ts=run["thread_ts"],
        recipient_team_id=spec["team"],
        recipient_user_id=run["user"],
    )
    chars = 0
    deferred = 0
    async for delta in deltas(http, spec, run["instruction"]):
        chars += len(delta)
        try:
            await streamer.append(markdown_text=delta)
        except SlackApiError as error:
            if retry_after(error) is None:
                raise
            deferred += 1  # the text stays buffered and goes out with the next call
    _, limited = await until_accepted(streamer.stop)
    return {
        "ts": streamer.ts,
        "dropped": 0,
        "deferred": deferred,
        "limited": limited,
        "chars": chars,
    }


async def main(kind: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    client = AsyncWebClient(token=spec["token"], base_url=f"{spec['slack']}/api/")
    relay = naive if kind == "naive" else chat_stream
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0), limits=limits) as http:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started = time.time()

        async def one(run: dict[str, Any]) -> dict[str, Any]:
            try:
                result = await relay(client, http, spec, run)
            except Exception as error:  # reported, not raised: one broken run is a result
                result = {"error": repr(error)}
            return {"instruction": run["instruction"], **result, "took": time.time() - started}

        return list(await asyncio.gather(*(one(run) for run in spec["runs"])))


def cli(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in KINDS:
        print(f"usage: python -m bench.relays {'|'.join(KINDS)} SPEC.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    runs = asyncio.run(main(argv[0], spec))
    print(json.dumps({"runs": runs}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
