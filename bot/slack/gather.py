"""What a turn carries besides its request (`core.gathered.Gathered`), fetched from Slack: the
thread's earlier messages (`conversations.replies`, authors by display name via `users.info`)
and the text of attached files (`attachments.py`).

`conversations.replies` is Tier 3 for internal apps but Tier 1 (about one call a minute, 15
messages a call) for commercially distributed apps outside the Marketplace, so history is
fetched with a client that does not wait out a 429: what could not be fetched is left out and
said (`history_gap`), and the turn goes on. Only conversations the app is a member of can be
read (Slack refuses the others), and `HANDINGER_THREAD_CONTEXT=false` turns history off.
Context never carries a token: the app's own secrets and token-shaped strings are masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..config import Settings
from ..core.gathered import FileText, Gathered, HistoryGap, Said
from ..logs import configured_secrets
from ..redact import Redactor
from .attachments import FileLimits, read_files
from .clients import paced_client

log = logging.getLogger(__name__)

MAX_PAGES = 5
HUMANISH = frozenset({None, "file_share", "thread_broadcast", "bot_message"})
"""Message subtypes that are someone saying something (joins, topic changes and the like are
not context)."""
NO_ACCESS = frozenset(
    {"not_in_channel", "channel_not_found", "missing_scope", "thread_not_found", "not_allowed"}
)
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What to gather for one turn. `thread_ts`: read the thread's history (None: none);
    `before_ts`: the message that asks (it and later ones are not history); `since_ts`: only
    replies after it (reply mode `mention`); `files`: the asking message's own files."""

    channel: str
    before_ts: str
    thread_ts: str | None = None
    since_ts: str | None = None
    files: Sequence[dict[str, Any]] = ()


async def gather(
    client: AsyncWebClient, settings: Settings, wanted: Wanted, own_bot_id: str | None
) -> Gathered:
    """The context of one turn, as much of it as Slack gives."""
    reader = paced_client(client.token, client.base_url)  # a 429 is not waited out here
    messages: list[dict[str, Any]] = []
    gap: HistoryGap | None = None
    if wanted.thread_ts is not None and settings.handinger_thread_context:
        fetched, gap = await _history(reader, wanted)
        messages += fetched
    messages = [
        m
        for m in messages
        if m.get("subtype") in HUMANISH and not (own_bot_id and m.get("bot_id") == own_bot_id)
    ]
    budget = settings.handinger_context_messages
    left_out = max(len(messages) - budget, 0)
    kept = messages[left_out:]
    names = _Names(reader)
    said = [Said(await names.author(m), await names.plain(str(m.get("text") or ""))) for m in kept]
    files = [f for m in kept for f in m.get("files") or [] if isinstance(f, dict)]
    files += [f for f in wanted.files if isinstance(f, dict)]
    limits = FileLimits(
        settings.handinger_attachment_max_bytes,
        settings.handinger_file_text_chars,
        settings.slack_api_url,
    )
    texts, unread = await read_files(reader, files, limits) if files else ([], [])
    mask = Redactor([*configured_secrets(settings), client.token or ""]).text
    said = [Said(s.author, mask(s.text)) for s in said]
    texts = [FileText(t.name, mask(t.text)) for t in texts]
    return Gathered(
        messages=tuple(s for s in said if s.text or s.author),
        left_out=left_out,
        since_last_turn=wanted.since_ts is not None,
        history_gap=gap,
        files=tuple(texts),
        unread=tuple(unread),
    )


async def _history(
    client: AsyncWebClient, wanted: Wanted
) -> tuple[list[dict[str, Any]], HistoryGap | None]:
    """The thread's messages before `before_ts` (after `since_ts`), oldest first."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    gap: HistoryGap | None = None
    for _page in range(MAX_PAGES):
        try:
            answer = await client.conversations_replies(
                channel=wanted.channel,
                ts=str(wanted.thread_ts),
                oldest=wanted.since_ts,
                limit=200,
                cursor=cursor,
            )
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if error.response.status_code == 429 or code == "ratelimited":
                gap = "rate_limited"
            else:
                gap = "no_access" if code in NO_ACCESS else "failed"
            log.info("thread history of %s not fetched: %s", wanted.thread_ts, code or error)
            break
        except Exception as error:  # Slack unreachable after the client's own retries
            log.warning("thread history of %s not fetched: %s", wanted.thread_ts, error)
            gap = "failed"
            break
        found += [m for m in answer.get("messages") or [] if isinstance(m, dict)]
        cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
        if not answer.get("has_more") or not cursor:
            break
    else:
        gap = "partial"
    since = float(wanted.since_ts) if wanted.since_ts else float("-inf")
    before = float(wanted.before_ts)
    inside = [m for m in found if since < float(m.get("ts") or 0) < before]
    return sorted(inside, key=lambda m: float(m["ts"])), gap


class _Names:
    """Display names of the thread's people, each looked up once (`users.info`, Tier 4)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.known: dict[str, str] = {}

    async def user(self, user_id: str) -> str:
        if user_id not in self.known:
            name = user_id
            try:
                answer = await self.client.users_info(user=user_id)
                user = answer.get("user") or {}
                profile = user.get("profile") or {}
                name = (
                    profile.get("display_name")
                    or profile.get("real_name")
                    or user.get("real_name")
                    or user.get("name")
                    or user_id
                )
            except SlackApiError as error:
                log.info("users.info %s failed: %s", user_id, error.response.get("error"))
            except Exception as error:  # the id stands in for the name; the turn goes on
                log.warning("users.info %s failed: %s", user_id, error)
            self.known[user_id] = " ".join(str(name).split())
        return self.known[user_id]

    async def author(self, message: dict[str, Any]) -> str:
        if message.get("user") and not message.get("bot_id"):
            return await self.user(str(message["user"]))
        profile = message.get("bot_profile") or {}
        return " ".join(str(message.get("username") or profile.get("name") or "a bot").split())

    async def plain(self, text: str) -> str:
        """Slack's markup as a person reads it: `<@U1>` → `@name`, links as `label (url)`,
        `&lt;` → `<`."""
        for user_id in {m[1] for m in _USER.finditer(text)}:
            await self.user(user_id)
        text = _USER.sub(lambda m: "@" + (m[2] or self.known.get(m[1], m[1])), text)
        text = _CHANNEL.sub(lambda m: "#" + (m[2] or m[1]), text)
        text = _SPECIAL.sub(lambda m: "@" + (m[2] or m[1]).lstrip("@"), text)
        text = _LINK.sub(lambda m: f"{m[2]} ({m[1]})" if m[2] else m[1], text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
