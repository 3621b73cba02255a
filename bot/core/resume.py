"""Whether a run's request reached Handinger, decided from the store and the worker's history.

A run records, before its create or continue goes out, that it may reach Handinger
(`request_sent_at`) and under which `Idempotency-Key` (`ref`). After a restart this says what is
safe: a request never sent is sent now; a create that may have been sent is sent again with the
same key, so an API that honours the key returns the worker it already made (Handinger has no
way to list workers, and a worker's `metadata` cannot be set by a request, so the key is the only
handle); a continue that may have been sent is looked up in the worker's history first.

The reference does not document idempotency, and the official (Stainless) SDK has the header
mechanism switched off. If Handinger ignores the key, a create that reached it just before a
crash runs twice: two workers, paid twice. Abandoning the run instead (what the app did before)
costs the same when the create had arrived, and loses the answer either way.
"""

from __future__ import annotations

from ..handinger.history import turn_stored
from ..handinger.models import Worker
from ..store import Run

KEY_LIFETIME = 23 * 3600.0
"""How long after the first send a create is sent again with its key. APIs that honour the
header (Stripe's rules) keep a key 24 hours; past that a resend could make a second worker."""


def may_send_create(run: Run, now: float) -> bool:
    """Whether the create of a run that has no worker yet may be sent (again) now."""
    if run.request_sent_at is None:
        return True  # never sent: nothing can exist on Handinger
    if run.ref is None:
        return False  # sent before the app used keys: a resend could start a second worker
    return now - run.request_sent_at < KEY_LIFETIME


def continue_landed(run: Run, worker: Worker) -> bool:
    """After a restart: whether this run's continue reached the worker, so its turn is to be
    followed (not sent again)."""
    if run.status == "running":
        return True  # its stream had begun
    if run.request_sent_at is None or run.messages_before is None:
        return False  # never sent
    return turn_stored(worker, run.messages_before, run.sent_input)
