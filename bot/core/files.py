"""Deliver the files a worker publishes into its Slack thread, once each.

After every turn, each file of the worker that this thread has not received yet is downloaded
from Handinger (only from its own origin, with a size cap enforced while streaming) and uploaded
in one batch. A file the turn re-published under the same path is downloaded again and uploaded
as a new version only if its content changed. Problems become one line each in the thread, said
once per thread and file (the store remembers it, across restarts); they never fail the run.
The core says what went wrong as data (`FileProblem`); the surface words it.
A file refused for good (elsewhere, too large, gone) is not fetched again unless re-published; one
whose download failed for a passing reason is tried again after later turns, silently. An upload
is recorded once Slack answered; a delivery taken up again after a restart, or an upload that
failed, first asks the surface for uploads that landed unrecorded, so no file is shared twice
and none is said to be missing that is there.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from ..handinger.client import HandingerClient
from ..handinger.errors import (
    FileTooLargeError,
    ForeignOriginError,
    HandingerError,
    NotFoundError,
)
from ..handinger.models import Worker, WorkerFile
from ..store import Run, Store
from .ports import FileProblem, FileSurface, FileTrouble, LocalFile
from .text import visible_line

log = logging.getLogger(__name__)

MAX_NAME = 120
MAX_TITLE = 250
UNFETCHED: FileTrouble = "unfetched"
"""A file's problem is stored in place of its content hash: refused for good (`foreign`,
`too-large`, `missing`), or its download failed and the thread was told so (`unfetched`)."""


def file_path(file: WorkerFile) -> str:
    """The worker-side path of a file: its `filename`, else the part of the URL after /files/."""
    if file.filename:
        return file.filename.strip("/")
    path = unquote(urlsplit(file.url).path)
    marker = "/files/"
    if marker in path:
        return path.split(marker, 1)[1].strip("/")
    return path.rsplit("/", 1)[-1] or file.url


_UNSAFE = re.compile(r'[<>:"|?*\\\x00-\x1f\x7f]')


def safe_filename(path: str, media_type: str) -> str:
    """A Slack-safe file name: nested paths flattened (`a/b/c.md` → `a-b-c.md`), no separators,
    control or reserved characters, no leading dots, at most 120 characters, and an extension
    that matches the declared media type when the name has none."""
    name = unicodedata.normalize("NFC", path)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    parts = [p for p in re.split(r"[/\\]+", name) if p not in ("", ".", "..")]
    name = "-".join(parts)
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .-") or "file"
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, (mimetypes.guess_extension(media_type) or "").lstrip(".")
    extension = extension[:16]
    room = MAX_NAME - (len(extension) + 1 if extension else 0)
    stem = stem[:room].rstrip(" .-") or "file"
    return f"{stem}.{extension}" if extension else stem


def file_title(path: str) -> str:
    """The title a file is shown with: its path on one line of visible characters (no bidi
    overrides, controls or zero-width characters to disguise it) and without `<` or `>`, so it
    cannot carry Slack's `<!here>` or `<@U…>` syntax."""
    title = visible_line(path).replace("<", "‹").replace(">", "›")
    return title[:MAX_TITLE].rstrip() or "file"


class _HashingWriter:
    """Writes to a file and hashes on the way, so the content is read only once."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, data: bytes, /) -> int:
        self.digest.update(data)
        return self.out.write(data)


class FileDelivery:
    """Moves a worker's new files into its thread, remembering what it uploaded."""

    def __init__(
        self, store: Store, handinger: HandingerClient, surface: FileSurface, *, max_bytes: int
    ) -> None:
        self.store = store
        self.handinger = handinger
        self.surface = surface
        self.max_bytes = max_bytes

    async def deliver(
        self,
        run: Run,
        worker: Worker,
        announced: Sequence[WorkerFile],
        *,
        resumed: bool = False,
    ) -> int:
        """Upload what the thread is missing; return how many files were uploaded. `resumed`:
        an earlier process may have uploaded some of them before it stopped."""
        thread_ts = run.thread_ts or run.message_ts
        if thread_ts is None or not worker.files:
            return 0
        seen = await self.store.uploaded_paths(run.team_id, run.channel_id, thread_ts)
        republished = {file_path(f) for f in announced}
        wanted: dict[str, WorkerFile] = {}
        for file in worker.files:
            path = file_path(file)
            if not seen.get(path, set()) - {UNFETCHED} or path in republished:
                wanted[path] = file
        if not wanted:
            return 0
        problems: list[FileProblem] = []
        with tempfile.TemporaryDirectory(prefix="handinger-files-") as tmp:
            ready: list[LocalFile] = []
            for index, (path, file) in enumerate(wanted.items()):
                fetched = await self._fetch(run, path, file, Path(tmp) / str(index))
                if isinstance(fetched, LocalFile):
                    if fetched.sha256 not in seen.get(path, set()):
                        ready.append(fetched)
                    continue
                if fetched.trouble not in seen.get(path, set()):  # said once per thread and file
                    problems.append(fetched)
                    await self._remember(run, thread_ts, path, fetched.trouble)
            if ready and resumed:
                ready = await self._unless_landed(run, thread_ts, ready)
            if ready:
                await self._upload(run, thread_ts, ready, problems)
        for problem in problems:
            await self.surface.notify(run, problem)
        return len(ready)

    async def _fetch(
        self, run: Run, path: str, file: WorkerFile, target: Path
    ) -> LocalFile | FileProblem:
        """The downloaded file, or why not."""
        name = safe_filename(path, file.media_type)
        if not self.handinger.is_handinger_url(file.url):
            return FileProblem("foreign", (name,), url=file.url)
        try:
            with target.open("wb") as out:
                sink = _HashingWriter(out)
                result = await self.handinger.download_file_to(
                    file.url, sink, max_bytes=self.max_bytes
                )
        except FileTooLargeError:
            return FileProblem("too-large", (name,), limit_bytes=self.max_bytes)
        except ForeignOriginError as error:  # Handinger redirected the download elsewhere
            return FileProblem("foreign", (name,), url=error.url)
        except NotFoundError:
            return FileProblem("missing", (name,))
        except HandingerError as error:
            log.warning("run %d: download of %s failed: %s", run.id, path, error)
            return FileProblem(UNFETCHED, (name,))
        digest = sink.digest.hexdigest()
        return LocalFile(
            local_path=target,
            filename=name,
            title=file_title(path),
            media_type=file.media_type or result.media_type,
            size=result.size,
            sha256=digest,
            source_path=path,
        )

    async def _upload(
        self, run: Run, thread_ts: str, files: list[LocalFile], problems: list[FileProblem]
    ) -> None:
        try:
            ids = await self.surface.upload_files(run, files)
        except Exception as error:
            log.warning("run %d: upload failed: %s", run.id, error)
            # Slack may have shared them all the same (a completion it made, then refused when
            # it was sent again after a dropped connection): those are recorded, not reported.
            missing = await self._unless_landed(run, thread_ts, files)
            if missing:
                problems.append(FileProblem("not-uploaded", tuple(f.filename for f in missing)))
            return
        for file, slack_id in zip(files, ids, strict=False):
            await self._record(run, thread_ts, file, slack_id)

    async def _unless_landed(
        self, run: Run, thread_ts: str, files: list[LocalFile]
    ) -> list[LocalFile]:
        """The files not yet in the thread; those already there are recorded as uploaded."""
        try:
            found = await self.surface.find_uploads(run, files)
        except Exception as error:  # a duplicate is better than a lost file
            log.warning("run %d: cannot look for earlier uploads: %s", run.id, error)
            return files
        missing = []
        for file, slack_id in zip(files, found, strict=True):
            if slack_id is None:
                missing.append(file)
            else:
                log.info("run %d: %s was uploaded before the restart", run.id, file.filename)
                await self._record(run, thread_ts, file, slack_id)
        return missing

    async def _record(
        self, run: Run, thread_ts: str, file: LocalFile, slack_id: str | None
    ) -> None:
        await self.store.record_upload(
            team_id=run.team_id,
            channel_id=run.channel_id,
            thread_ts=thread_ts,
            path=file.source_path,
            sha256=file.sha256,
            size=file.size,
            worker_id=run.worker_id or "",
            run_id=run.id,
            slack_file_id=slack_id,
        )

    async def _remember(self, run: Run, thread_ts: str, path: str, marker: FileTrouble) -> None:
        """Report a file's problem once per thread, not after every turn."""
        await self.store.record_upload(
            team_id=run.team_id,
            channel_id=run.channel_id,
            thread_ts=thread_ts,
            path=path,
            sha256=marker,
            size=0,
            worker_id=run.worker_id or "",
            run_id=run.id,
            slack_file_id=None,
        )
