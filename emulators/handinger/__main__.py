"""`python -m emulators.handinger`: run the emulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from ..credentials import HANDINGER_KEY
from .control import EMU_KEY
from .server import create_app
from .state import IDLE_STREAM_MODES, STREAM_FORMATS, Config


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.handinger", description="Local Handinger API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    parser.add_argument("--api-key", default=HANDINGER_KEY)
    parser.add_argument("--stream-format", choices=STREAM_FORMATS, default="ai-sdk")
    parser.add_argument("--done-sentinel", action="store_true", help="end SSE with [DONE]")
    parser.add_argument("--turn-seconds", type=float, default=1.0)
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--time-scale", type=float, default=1.0, help="schedule clock speed")
    parser.add_argument("--blocking", action="store_true", help="create/continue wait for turn")
    parser.add_argument("--idle-stream", choices=IDLE_STREAM_MODES, default="replay")
    args = parser.parse_args(argv)
    if args.time_scale <= 0 or args.turn_seconds < 0 or args.chunks < 1:
        parser.error("--time-scale must be > 0, --turn-seconds >= 0, --chunks >= 1")
    return Config(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        stream_format=args.stream_format,
        done_sentinel=args.done_sentinel,
        turn_seconds=args.turn_seconds,
        chunks=args.chunks,
        time_scale=args.time_scale,
        blocking=args.blocking,
        idle_stream=args.idle_stream,
    )


async def serve(config: Config) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = int(runner.addresses[0][1])
    emu = app[EMU_KEY]
    emu.cli_config.port = emu.config.port = port
    print(f"listening on {emu.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await emu.reset()  # ends live turns so open SSE responses finish before shutdown
    await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(argv)
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        print(f"cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
