"""`python -m bench.sandbox_page`: is the sandbox page responsive with 200 runs streaming in one
channel? (issue 16)

Two loads on one page, in Debian's Chromium driven by Playwright:

- `bot`: `handinger-slack sandbox` as `make run` starts it (Slack rate limits off, so all 200
  cards are posted at once), and 200 `/handinger` runs typed into #general; the bot paces its
  own edits, so this is what a person sees.
- `burst`: the page's capacity: 200 messages in one channel, each edited as fast as the Slack
  emulator takes `chat.update` (rate limits off), no bot involved.

For each: updates pushed to the page per second (SSE frames) and messages redrawn per second,
the page's JavaScript heap and DOM node count at the end (Chrome DevTools Protocol
`Performance.getMetrics`), and the longest gap between animation frames while the load ran
(a frozen page shows as a long gap). Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from emulators.credentials import BOT_TOKEN

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SANDBOX_URL = re.compile(r"Sandbox: open (http://\S+)/sandbox/ in your browser")
FRAME_GAPS = """
window.__gaps = {max: 0, last: performance.now()};
(function tick(now) {
  window.__gaps.max = Math.max(window.__gaps.max, now - window.__gaps.last);
  window.__gaps.last = now;
  requestAnimationFrame(tick);
})(performance.now());
"""


def start_sandbox(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--web-port", "0"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = SANDBOX_URL.search(line)
        if match:
            return process, match.group(1)
    raise RuntimeError("the sandbox did not start")


async def measure(page: Any, load: Any, seconds: float) -> dict[str, Any]:
    """Run `load` (a coroutine) and sample the page for `seconds`."""
    await page.evaluate(FRAME_GAPS)
    before = await page.evaluate("({...window.sandbox.store.stats})")
    started = time.monotonic()
    task = asyncio.create_task(load)
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    after = await page.evaluate("({...window.sandbox.store.stats})")
    gap = await page.evaluate("window.__gaps.max")
    await task
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    cards = await page.locator("#messages .msg").count()
    return {
        "seconds": round(elapsed, 1),
        "frames_per_s": round((after["frames"] - before["frames"]) / elapsed, 1),
        "messages_redrawn_per_s": round((after["messages"] - before["messages"]) / elapsed, 1),
        "max_frame_gap_ms": round(gap, 1),
        "js_heap_mb": round(metrics["JSHeapUsedSize"] / 1e6, 1),
        "dom_nodes": int(metrics["Nodes"]),
        "messages_on_page": cards,
    }


async def bot_load(slack: httpx.AsyncClient, runs: int) -> None:
    for index in range(runs):
        body = {"channel": "C0001", "user": "U0001", "text": f"run {index} [[duration=20]]"}
        await slack.post("/_emulator/slash", json=body)


async def burst_load(slack: httpx.AsyncClient, messages: int, seconds: float) -> int:
    token = {"Authorization": f"Bearer {BOT_TOKEN}"}
    posted = []
    for index in range(messages):
        answer = await slack.post(
            "/api/chat.postMessage",
            headers=token,
            json={"channel": "C0002", "text": f"burst {index}"},
        )
        posted.append(answer.json()["ts"])
    edits = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ts = posted[edits % len(posted)]
        text = f"burst edit {edits} " + "lorem ipsum " * 40
        await slack.post(
            "/api/chat.update", headers=token, json={"channel": "C0002", "ts": ts, "text": text}
        )
        edits += 1
    return edits


async def main(runs: int, seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        process, base = start_sandbox(Path(tmp))
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as slack:
                await slack.get("/_emulator/connections", params={"min": 1, "timeout": 20})
                await slack.post("/_emulator/rate-limits", json={"mode": "off"})
                await slack.post("/_emulator/members", json={"channel": "C0002", "user": "bot"})
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path="/usr/bin/chromium", args=FLAGS
                    )
                    page = await browser.new_page(viewport={"width": 1280, "height": 860})
                    await page.goto(base + "/sandbox/")
                    await page.wait_for_selector("#connection.live")
                    bot = await measure(page, bot_load(slack, runs), seconds)
                    await page.locator(".channel-link[data-channel='C0002']").click()
                    edits: list[int] = []

                    async def burst() -> None:
                        edits.append(await burst_load(slack, runs, seconds / 2))

                    burst_numbers = await measure(page, burst(), seconds)
                    burst_numbers["chat_update_calls_per_s"] = round(edits[0] / (seconds / 2), 1)
                    await browser.close()
        finally:
            process.terminate()
            process.wait(10)
    return {"runs": runs, "bot": bot, "burst": burst_numbers}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.seconds)), indent=2))
