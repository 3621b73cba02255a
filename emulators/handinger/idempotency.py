"""`Idempotency-Key` on the requests that start a turn: `POST /api/workers` and
`POST /api/workers/{id}`.

The reference does not document idempotency; the official SDK is Stainless-generated, and
Stainless SDKs carry an `Idempotency-Key` header mechanism (reference facts §4), so the emulator
honours the header the way Stripe and the IETF draft "The Idempotency-Key HTTP Header Field" do:

- The first request with a key whose effect happened (the worker was created, the turn started)
  is remembered with its fingerprint (method, path, body) for 24 hours of the emulated clock.
- The same key with the same fingerprint acts no more: it answers with the same worker (JSON), or
  with the stream of that same turn from its start, plus `Idempotent-Replayed: true`.
- The same key with a different method, path or body is refused with 422.
- A request that failed (validation, 404, 409 busy) is not remembered: it may be retried with its
  key. A key over 255 characters is refused with 400.
- `POST /_emulator/config {"idempotency_keys": false}` makes the emulator ignore the header, as
  an API without the feature would (every request acts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .state import Emulator, Turn, Worker
from .validate import ApiError

HEADER = "Idempotency-Key"
LIFETIME = 24 * 3600.0
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Remembered:
    """What the first request with a key did."""

    fingerprint: str
    worker_id: str
    turn_number: int
    at: float


def request_key(request: web.Request, emu: Emulator) -> str | None:
    """The request's key, or None when it has none or the emulator ignores keys."""
    key = request.headers.get(HEADER)
    if key is None or not emu.config.idempotency_keys:
        return None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(400, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters")
    return key


def fingerprint(request: web.Request, body: Any) -> str:
    return json.dumps([request.method, request.path, body], sort_keys=True)


def replay(emu: Emulator, key: str, print_: str) -> tuple[Worker, Turn] | None:
    """The worker and turn an earlier request with this key started, if it may be replayed."""
    remembered = emu.idempotency.get(key)
    if remembered is None or emu.clock.now() - remembered.at > LIFETIME:
        emu.idempotency.pop(key, None)
        return None
    if remembered.fingerprint != print_:
        raise ApiError(
            422,
            f"{HEADER} {key!r} was already used with a different request; "
            "use a new key for a new request",
        )
    worker = emu.workers.get(remembered.worker_id)
    if worker is None or len(worker.turns) < remembered.turn_number:
        return None
    return worker, worker.turns[remembered.turn_number - 1]


def remember(emu: Emulator, key: str, print_: str, worker: Worker, turn: Turn) -> None:
    emu.idempotency[key] = Remembered(print_, worker.id, turn.number, emu.clock.now())
