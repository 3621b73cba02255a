"""Which process sees which run through, when several share one database.

Every process has an owner id. Before it works on a run it takes the run's lease
(`run:<id>`, `Store.take_lease`), or holds it already when it recorded or started the run
(`new_lease`: taken in the same transaction, so no other process ever sees it unleased);
while it works it renews all its leases together (the heartbeat, `Runner.watch`); when the
run ends, or the process stops cleanly, it lets go.
Another process takes a run over only once its lease was released or has expired: after a
SIGTERM within seconds, after a SIGKILL once `RunnerPolicy.lease` has passed. A process that
finds at a heartbeat that it lost a lease (the database was out for longer than the lease)
stops that run's turn, since another may have taken it over.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

from ..store import LeaseTo, Store
from ..store.postgres import DatabaseUnavailable
from ..store.turns import urgent

log = logging.getLogger(__name__)


DEFAULT_LEASE = 30.0
"""Seconds a lease lasts without a heartbeat, unless configured (`HANDINGER_LEASE_SECONDS`)."""


def new_owner() -> str:
    """This process's owner id: host, pid and a random part (pids repeat across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_on_this_host(owner: str, me: str) -> bool:
    """Whether `owner` was a process on this host that is gone: an earlier run of this app
    that crashed or was killed (its pid is free, or is this process's own: a container's
    main process restarts as the same pid). Owners of other hosts cannot be told apart from
    live ones: their leases expire."""
    host, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    if owner == me or host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, as another user
        return False
    return False


def run_lease(run_id: int) -> str:
    return f"run:{run_id}"


def digests_lease(worker_id: str) -> str:
    """Held while one process looks for a worker's scheduled turns and posts them."""
    return f"digests:{worker_id}"


def presence_lease(owner: str) -> str:
    """Held by a process that watches schedules, once it has looked at what fired before it
    started: one that starts beside it knows the app was not offline meanwhile."""
    return f"process:{owner}"


class Ownership:
    """The leases this process holds, taken and renewed for `seconds` at a time."""

    def __init__(self, store: Store, owner: str, seconds: float) -> None:
        self.store = store
        self.owner = owner
        self.seconds = seconds
        self.held: set[str] = set()
        self.requests = True
        """Whether this process may have Slack requests pending (`store/inbox.py`): set each
        time it writes one down or takes one over (`request_pending`), cleared by a renewal
        that finds none, so an idle process's beat does not renew requests at all."""

    async def take(self, name: str) -> bool:
        """Hold `name`; False if another live process holds it."""
        if not await self.store.take_lease(name, self.owner, self.seconds):
            return False
        self.held.add(name)
        return True

    def new_lease(self) -> LeaseTo:
        """This process's lease, for a run it creates or starts: the store takes it in the
        same transaction (`Store.add_run`), then `hold` records it here."""
        return LeaseTo(self.owner, self.seconds)

    def hold(self, name: str) -> None:
        """A lease taken by the statement that created or started its work (`new_lease`):
        held, renewed by the heartbeat, and never taken a second time."""
        self.held.add(name)

    async def others_present(self) -> bool:
        """Whether another process holds a presence lease: it watches schedules (or was
        killed less than a lease ago) and has looked at what fired before it started."""
        return await self.store.others_present(self.owner)

    async def be_present(self, present: bool) -> None:
        """Hold this process's presence lease while it watches schedules (renewed by the
        heartbeat with its other leases), and only then: an idle process holds no lease."""
        name = presence_lease(self.owner)
        if present and name not in self.held:
            await self.take(name)
        elif not present and name in self.held:
            await self.let_go(name)

    async def let_go(self, name: str) -> None:
        """Release `name`; if the database cannot be told, the lease simply expires."""
        self.held.discard(name)
        try:
            await self.store.release_leases(self.owner, [name])
        except DatabaseUnavailable as exc:  # stopping in an outage: `Runner.aclose` says it once
            log.debug("lease %s not released (it expires on its own): %s", name, exc)
        except Exception as exc:
            log.warning("lease %s not released (it expires on its own): %s", name, exc)

    async def beat(self) -> set[str]:
        """Renew every lease held, and of the Slack requests this process has not finished
        (`store/inbox.py`); return the names that were lost meanwhile. Holding none, it
        renews none: an idle process's beat costs no statement for its leases. The database
        answers for the leases held when the renewal was sent: one taken while it was on its
        way is not lost, nor one let go of meanwhile. The renewals go ahead of bulk work
        (`store/turns.py`): a process with all its connections busy keeps its leases."""
        with urgent():
            await self._renew_requests()
            if not self.held:
                return set()
            sent_for = set(self.held)
            renewed = await self.store.renew_leases(self.owner, self.seconds)
        lost = (sent_for - renewed) & self.held
        self.held -= lost
        return lost

    def request_pending(self) -> None:
        """A statement that may have made a request this process's has ended (any thread)."""
        self.requests = True

    async def _renew_requests(self) -> None:
        """Cleared before the statement: a request written down meanwhile sets it again after
        its own statement, so it is renewed at this beat or the next."""
        if not self.requests:
            return
        self.requests = False
        try:
            renewed = await self.store.renew_requests(self.owner, self.seconds)
        except BaseException:
            self.requests = True
            raise
        if renewed:
            self.requests = True

    async def release_dead(self) -> int:
        """At start-up: free at once the leases (and unfinished Slack requests) of earlier
        processes on this host that are gone, so a restarted app resumes their work without
        waiting for the leases to expire."""
        freed = 0
        owners = await self.store.lease_owners() | await self.store.request_owners()
        for owner in owners:
            if dead_on_this_host(owner, self.owner):
                freed += await self.store.release_leases(owner)
                freed += await self.store.release_requests(owner)
        if freed:
            log.info("%d lease(s) of a process on this host that is gone were freed", freed)
        return freed

    async def release_all(self) -> int:
        """A clean stop: every lease of this process, and every Slack request it has not
        finished, is free for another at once."""
        self.held.clear()
        await self.store.release_requests(self.owner)
        return await self.store.release_leases(self.owner)
