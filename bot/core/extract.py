"""Text out of an attached file's bytes, for the agent: plain text, Markdown, CSV/TSV, JSON,
logs and source code as they are; PDF through pypdf; Word (.docx) through python-docx; Excel
(.xlsx) through openpyxl.

pypdf: pure Python (no native code to build or to exploit), BSD, released often, with limits
against malformed and hostile files; it reads the text layer, which is what an agent needs
(a scanned PDF without one is named unreadable rather than OCR'd). python-docx and openpyxl
are the maintained readers of those formats, also pure Python. Extraction is CPU work, so
callers run it in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import io
import logging
from typing import Literal

from .gathered import WhyUnread

log = logging.getLogger(__name__)

Kind = Literal["text", "pdf", "docx", "xlsx"]

TEXT_EXTENSIONS = frozenset(
    [
        "txt",
        "text",
        "md",
        "markdown",
        "rst",
        "csv",
        "tsv",
        "json",
        "jsonl",
        "ndjson",
        "log",
        "yaml",
        "yml",
        "toml",
        "ini",
        "cfg",
        "conf",
        "xml",
        "html",
        "htm",
        "css",
        "scss",
        "sql",
        "sh",
        "bash",
        "zsh",
        "ps1",
        "bat",
        "py",
        "pyi",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "jsx",
        "java",
        "kt",
        "kts",
        "scala",
        "go",
        "rs",
        "rb",
        "php",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "cs",
        "swift",
        "m",
        "r",
        "pl",
        "lua",
        "dart",
        "ex",
        "exs",
        "erl",
        "hs",
        "clj",
        "el",
        "vue",
        "svelte",
        "diff",
        "patch",
        "tf",
        "proto",
        "graphql",
        "gradle",
        "properties",
        "env",
        "dockerfile",
        "makefile",
        "srt",
        "vtt",
    ]
)
TEXT_MIMETYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/javascript",
        "application/x-sh",
        "application/sql",
        "application/x-ndjson",
    }
)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ARCHIVES = frozenset(["zip", "gz", "tgz", "tar", "bz2", "xz", "7z", "rar", "zst"])
MAX_PDF_PAGES = 500


class Unreadable(Exception):
    """The file's text cannot be had; `why` says so in the core's terms."""

    def __init__(self, why: WhyUnread) -> None:
        super().__init__(why)
        self.why = why


def kind_of(name: str, mimetype: str, filetype: str = "") -> Kind:
    """What reader a file needs, from its Slack `mimetype`, `filetype` and name; `Unreadable`
    for what no reader here takes (decided before anything is downloaded)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else name.lower()
    mime = mimetype.split(";")[0].strip().lower()
    if mime == "application/pdf" or extension == "pdf" or filetype == "pdf":
        return "pdf"
    if mime == DOCX or extension == "docx":
        return "docx"
    if mime == XLSX or extension == "xlsx":
        return "xlsx"
    major = mime.split("/")[0]
    media: dict[str, WhyUnread] = {"image": "image", "audio": "audio", "video": "video"}
    if major in media:
        raise Unreadable(media[major])
    if extension in ARCHIVES or "zip" in mime or "compressed" in mime or "tar" in mime:
        raise Unreadable("archive")
    if major == "text" or mime in TEXT_MIMETYPES or extension in TEXT_EXTENSIONS:
        return "text"
    if filetype in ("text", "markdown", "csv", "json", "javascript", "python", "post"):
        return "text"
    raise Unreadable("binary")


def extract(kind: Kind, data: bytes, limit: int) -> str:
    """About `limit` characters of the file's text at most (readers stop early past it)."""
    try:
        if kind == "text":
            return _text(data)
        if kind == "pdf":
            return _pdf(data, limit)
        if kind == "docx":
            return _docx(data, limit)
        return _xlsx(data, limit)
    except Unreadable:
        raise
    except Exception as error:  # a malformed or hostile file: its text is not to be had
        log.info("cannot extract the text of a %s file: %s", kind, error)
        raise Unreadable("unreadable") from None


def _text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise Unreadable("binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _pdf(data: bytes, limit: int) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise Unreadable("unreadable")
    pages: list[str] = []
    size = 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        text = page.extract_text() or ""
        pages.append(text)
        size += len(text)
        if size > limit:
            break
    joined = "\n\n".join(p.strip() for p in pages if p.strip())
    if not joined:
        raise Unreadable("unreadable")  # images only (a scan): no text layer
    return joined


def _docx(data: bytes, limit: int) -> str:
    from docx import Document

    document = Document(io.BytesIO(data))
    lines: list[str] = []
    size = 0
    for paragraph in document.paragraphs:
        lines.append(paragraph.text)
        size += len(paragraph.text)
        if size > limit:
            return "\n".join(lines)
    for table in document.tables:
        for row in table.rows:
            line = "\t".join(cell.text for cell in row.cells)
            lines.append(line)
            size += len(line)
            if size > limit:
                return "\n".join(lines)
    return "\n".join(lines)


def _xlsx(data: bytes, limit: int) -> str:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    lines: list[str] = []
    size = 0
    try:
        for sheet in book.worksheets:
            lines.append(f"# {sheet.title}")
            for row in sheet.iter_rows(values_only=True):
                line = "\t".join("" if v is None else str(v) for v in row)
                lines.append(line)
                size += len(line)
                if size > limit:
                    return "\n".join(lines)
    finally:
        book.close()
    return "\n".join(lines)
