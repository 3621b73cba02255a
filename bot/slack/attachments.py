"""Files people attach to a message that reaches the agent, read into text (`core/extract.py`).

Each file is fetched from its `url_private` with the workspace's bot token (scope `files:read`),
and only from Slack's own file host (`files.slack.com`, or the origin of `SLACK_API_URL` when
that is not Slack's, i.e. an emulator): the token never goes anywhere else, and a file that
claims to live elsewhere is not fetched at all. What no reader takes (images, archives, audio,
video) and what is over `HANDINGER_ATTACHMENT_MAX_BYTES` by Slack's own `size` is never
downloaded; a download is cut off at the cap whatever the size said. Each file is read once per
run: the text goes into the run's stored instruction, which a restart reuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..core.extract import Unreadable, extract, kind_of
from ..core.files import safe_filename
from ..core.gathered import FileText, Unread

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
MAX_FILES = 10
"""Files read for one turn at most (Slack attaches up to 10 to a message)."""
UNUSABLE_MODES = frozenset({"tombstone", "hidden_by_limit", "external"})


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_bytes: int
    text_chars: int
    api_url: str


def from_slack(url: str, api_url: str) -> bool:
    """Whether `url` is on Slack's file host (https), or on the origin of a non-Slack
    `SLACK_API_URL` (an emulator, which serves its own files)."""
    parts, api = urlsplit(url), urlsplit(api_url)
    if parts.scheme == "https" and parts.hostname in SLACK_FILE_HOSTS and parts.port is None:
        return True
    api_is_slack = (api.hostname or "").endswith("slack.com")
    return not api_is_slack and (parts.scheme, parts.netloc) == (api.scheme, api.netloc)


async def read_files(
    client: AsyncWebClient, files: Sequence[dict[str, Any]], limits: FileLimits
) -> tuple[list[FileText], list[Unread]]:
    """The text of each file, and those that could not be read (with why), in order."""
    texts: list[FileText] = []
    unread: list[Unread] = []
    seen: set[str] = set()
    budget = limits.text_chars
    for raw in files[:MAX_FILES]:
        file = await _described(client, raw)
        ident = str(file.get("id") or "")
        if ident and ident in seen:
            continue
        seen.add(ident)
        name = safe_filename(str(file.get("name") or file.get("title") or "file"), "")
        try:
            text = await _read(client, file, name, limits, budget)
        except Unreadable as error:
            unread.append(Unread(name, error.why))
            continue
        texts.append(FileText(name, text))
        budget = max(budget - len(text), 0)
    return texts, unread


async def _described(client: AsyncWebClient, file: dict[str, Any]) -> dict[str, Any]:
    """The whole file object: events may carry a stub (`file_access: check_file_info`)."""
    if file.get("file_access") != "check_file_info" and file.get("url_private"):
        return file
    try:
        answer = await client.files_info(file=str(file.get("id", "")))
    except SlackApiError as error:
        log.info("files.info %s failed: %s", file.get("id"), error.response.get("error"))
        return file
    except Exception as error:  # Slack unreachable: the stub is all there is
        log.warning("files.info %s failed: %s", file.get("id"), error)
        return file
    described = answer.get("file")
    return described if isinstance(described, dict) else file


async def _read(
    client: AsyncWebClient, file: dict[str, Any], name: str, limits: FileLimits, budget: int
) -> str:
    if file.get("mode") in UNUSABLE_MODES:
        raise Unreadable("elsewhere" if file.get("mode") == "external" else "failed")
    kind = kind_of(name, str(file.get("mimetype") or ""), str(file.get("filetype") or ""))
    size = file.get("size")
    if isinstance(size, int) and size > limits.max_bytes:
        raise Unreadable("too_large")
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    if not url or not from_slack(url, limits.api_url):
        log.warning("file %s: url_private is not on Slack's file host; not fetched", name)
        raise Unreadable("elsewhere")
    data = await _download(url, client.token or "", limits.max_bytes)
    return await asyncio.to_thread(extract, kind, data, max(budget, 1))


async def _download(url: str, token: str, cap: int) -> bytes:
    """The file's bytes, read no further than `cap` (then it is too large)."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            httpx.AsyncClient(timeout=30.0, follow_redirects=False) as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                log.info("file download answered %s", response.status_code)
                raise Unreadable("failed")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise Unreadable("too_large")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as error:
        log.info("file download failed: %s", error)
        raise Unreadable("failed") from None
