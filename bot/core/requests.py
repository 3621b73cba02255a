"""The Slack request a task is handling, so that the run it records completes that request
in the same transaction (`store/inbox.py`): a request taken over from a process that died is
then never recorded twice.

A context variable, set by the Slack adapter around the dispatch of one request (the
listener's task inherits it) and read where a run is recorded (`Runner.start_new`,
`Runner.follow_up`), which clears it: the turns a listener spawns afterwards record nothing
for the request.
"""

from __future__ import annotations

from contextvars import ContextVar

from ..store import RequestOwner

current_request: ContextVar[RequestOwner | None] = ContextVar("current_request", default=None)


def take_request() -> RequestOwner | None:
    """The request the current task handles, once: the first run recorded answers it."""
    request = current_request.get()
    if request is not None:
        current_request.set(None)
    return request
