"""Finding a run's own message again after a restart, through Slack message metadata.

A run's message is posted with metadata `{event_type: "handinger_run", event_payload: {run_id,
ref}}`. If the process stops after `chat.postMessage` reached Slack but before the `ts` was
recorded, the next process looks through the thread (`conversations.replies`) or, for a slash
command's card, the channel's recent history (`conversations.history`) for the message carrying
the run's `ref`, and takes it over instead of posting a second one. Both methods return metadata
only with `include_all_metadata` (the app subscribes to no metadata events) and need the
`*:history` scopes the app already has for message events.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from ..store import Run

log = logging.getLogger(__name__)

EVENT_TYPE = "handinger_run"
HISTORY_MARGIN = 600.0
"""Seconds before the run was created that the channel's history is searched from (the
message cannot be older; the margin covers a clock skew between the app and Slack)."""
MAX_PAGES = 10


def run_metadata(run: Run) -> dict[str, Any] | None:
    """The metadata that marks a run's message as this run's (None for a run without `ref`)."""
    if run.ref is None:
        return None
    return {"event_type": EVENT_TYPE, "event_payload": {"run_id": run.id, "ref": run.ref}}


async def find_run_message(client: AsyncWebClient, run: Run) -> str | None:
    """The `ts` of the message marked with this run's `ref`, or None, also when the lookup
    fails in any way: the caller then posts anew, since a duplicate is better than no answer."""
    if run.ref is None:
        return None
    args: dict[str, Any] = {"channel": run.channel_id, "include_all_metadata": True, "limit": 200}
    try:
        for _ in range(MAX_PAGES):
            if run.thread_ts is not None:
                page = await client.conversations_replies(ts=run.thread_ts, **args)
            else:
                oldest = f"{run.created_at - HISTORY_MARGIN:.6f}"
                page = await client.conversations_history(oldest=oldest, **args)
            for message in page.get("messages") or []:
                if _marks(message, run.ref):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
            args["cursor"] = cursor
    except Exception as error:  # best effort: any failure means "not found"
        log.warning("run %d: cannot look for its earlier message: %r", run.id, error)
    return None


def _marks(message: Any, ref: str) -> bool:
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("ref") == ref
