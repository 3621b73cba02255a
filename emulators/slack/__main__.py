"""`python -m emulators.slack`: run the Slack emulator (see the package docstring)."""

from __future__ import annotations

import asyncio
import logging
import sys

from .config import parse_args
from .server import serve


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
