"""A round-robin HTTP load balancer for the benchmark's bot replicas in HTTP mode.

`python -m bench.balancer --port 0 URL [URL…]` forwards each request, in turn, to the next
replica's base URL, and the answer back, as any L7 load balancer in front of replicas does
(no stickiness: the install page and the OAuth redirect of one install may reach different
replicas, which is what the shared database is for). The Slack emulator's request URL and the
app's Redirect URL point here. Prints `listening on http://…` once it serves, like the
emulators, so `emulators.harness.server` can start it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import Iterator

import aiohttp
from aiohttp import web

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
"""Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and the ones
aiohttp sets itself from the body."""


class Balancer:
    """Round robin over the replicas' base URLs; one client session for all of them."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = [url.rstrip("/") for url in upstreams]
        self._next: Iterator[str] = itertools.cycle(self.upstreams)
        self._session: aiohttp.ClientSession | None = None
        self.sent = dict.fromkeys(self.upstreams, 0)

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/_balancer/stats":
            return web.json_response({"sent": self.sent})
        upstream = next(self._next)
        self.sent[upstream] += 1
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=120),
                connector=aiohttp.TCPConnector(limit=0),
            )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(
            request.method,
            upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            response = web.Response(status=answer.status, body=body)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                    response.headers.add(name, value)
            return response

    async def close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()


async def serve(port: int, upstreams: list[str]) -> None:
    balancer = Balancer(upstreams)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", balancer.forward)
    app.on_cleanup.append(balancer.close)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"listening on http://127.0.0.1:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.balancer", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("upstreams", nargs="+", help="the replicas' base URLs")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.upstreams))


if __name__ == "__main__":
    main()
