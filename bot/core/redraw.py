"""Showing a finished run's outcome again, from Handinger: the card's Refresh, and a final
message that could not be shown when its run ended (`final_pending`, retried by `heal.py`).

A message always shows its own turn: the run's own assistant message(s) in the worker's history
(`outcome.conclude`), with that turn's sources, whatever turns ran since; never the worker's
latest answer. A run whose turn is still running is not redrawn here: whoever relays it owns its
message (`Runner.refresh`).
"""

from __future__ import annotations

import logging

from .outcome import still_running
from .problems import restored
from .turn import Turn

log = logging.getLogger(__name__)


async def show_final(turn: Turn) -> bool:
    """Show the outcome of a finished run whose message does not show it yet (`final_pending`).
    False while that cannot be done (its turn still runs, Slack still fails); Handinger errors
    propagate."""
    run = turn.run
    if run.final_pending == "failure" or run.worker_id is None:
        view = turn.as_ended(turn.view("failed", error=restored(run.error)))
        if not await turn.show(view):
            return False
        await turn.update(final_pending=None)
        return True
    return await _show_outcome(turn)


async def refresh(turn: Turn) -> bool:
    """Redraw a finished run's message from Handinger (the card's Refresh); False when nothing
    was shown. Handinger errors propagate."""
    run = turn.run
    if run.message_ts is None:
        return False
    if run.final_pending is not None:
        return await show_final(turn)
    if run.worker_id is None:
        return False  # it failed before it had a worker: its message says all there is
    if run.kind == "continue" and run.messages_before is None:
        return False  # it failed before its instruction was sent: no turn of its own
    if run.kind == "digest":
        return await _redraw_digest(turn)
    return await _show_outcome(turn)


async def _show_outcome(turn: Turn) -> bool:
    """The run's own turn as the worker has it now; its status follows what is shown (a run
    shown failed because its result could not be fetched turns out completed)."""
    run = turn.run
    assert run.worker_id is not None
    worker = await turn.ctx.handinger.get_worker(run.worker_id)
    if still_running(run, worker):
        return False
    outcome, view = await turn.conclusion(worker)
    if not await turn.show(view):
        return False
    ended = {} if run.finished_at is None else {"finished_at": run.finished_at}
    await turn.update(status=outcome.state, error=outcome.error, final_pending=None, **ended)
    if outcome.state != run.status:
        await turn.mark("recovered" if outcome.state == "completed" else outcome.state)
    if turn.run.files_done != 1:  # an earlier process may have begun the delivery
        await turn.deliver_files(worker, resumed=True)
    return True


async def _redraw_digest(turn: Turn) -> bool:
    run = turn.run
    digests = turn.ctx.digests
    assert run.worker_id is not None
    if digests is None:
        return False
    worker = await turn.ctx.handinger.get_worker(run.worker_id)
    view = await digests.redrawn(run, worker)
    if view is None:
        log.info("run %d: its digest's turn or schedule is gone; left as it is", run.id)
        return False
    return await turn.show(view)
