"""Streams never share a connection pool with short requests, and no pool gathers them all:
httpcore scans every connection of a pool per request (encode/httpcore#1035)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from bot.handinger.session import STREAM_POOLS, Session


def _session() -> Session:
    return Session(
        "key",
        httpx.URL("http://handinger.test/"),
        timeout=5,
        connect_timeout=5,
        turn_timeout=5,
        stream_idle_timeout=5,
        max_retries=0,
        transport=None,
        sleep=asyncio.sleep,
    )


async def test_streams_do_not_use_the_short_request_pool() -> None:
    session = _session()
    try:
        short = session.client(stream=False)
        streams = [session.client(stream=True) for _ in range(1000)]
        assert all(client is not short for client in streams)
        assert all(client._transport is not short._transport for client in streams)
    finally:
        await session.aclose()


async def test_a_thousand_streams_spread_evenly_over_the_stream_pools() -> None:
    session = _session()
    try:
        counts = Counter(id(session.client(stream=True)._transport) for _ in range(1000))
        assert len(counts) == STREAM_POOLS
        assert max(counts.values()) <= -(-1000 // STREAM_POOLS)
    finally:
        await session.aclose()
