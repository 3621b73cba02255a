"""Deterministic bytes for files the scripted agent publishes.

Content depends only on (path, version), so publishing the same path twice yields identical
bytes and a client can be tested for "upload once". Large files are generated block by block so
a multi-gigabyte `[[filesize=...]]` never sits in memory.
"""

from __future__ import annotations

import hashlib
import mimetypes
import struct
import zlib
from collections.abc import Iterator

from .state import PublishedFile

BLOCK = 64 * 1024
_MEDIA_TYPES = {
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".png": "image/png",
    ".pdf": "application/pdf",
    ".bin": "application/octet-stream",
}


def media_type_for(path: str) -> str:
    """A stable media type for a path (explicit table first: mimetypes varies by OS)."""
    dot = path.rfind(".")
    ext = path[dot:].lower() if dot > path.rfind("/") else ""
    if ext in _MEDIA_TYPES:
        return _MEDIA_TYPES[ext]
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


def small_content(path: str, media_type: str, version: int | None) -> bytes:
    """Bytes of a normal published file."""
    if media_type == "image/png":
        return png_bytes(f"{path}\0{version}")
    lines = [
        f"# {path}",
        "",
        "Published by the scripted agent of the Handinger emulator.",
        f"Path: {path}",
    ]
    if version is not None:
        lines.append(f"Version: {version}")
    digest = hashlib.sha256(f"{path}\0{version}".encode()).hexdigest()
    lines += ["", f"Checksum seed: {digest}", "- first line of data", "- second line of data", ""]
    return "\n".join(lines).encode()


def png_bytes(seed: str) -> bytes:
    """A real 16x16 RGB PNG whose colours come from `seed` (and whose bytes are not UTF-8)."""
    digest = hashlib.sha256(seed.encode()).digest()
    width = height = 16
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            shade = digest[(x + y) % len(digest)]
            rows += bytes((shade, digest[y % 32] ^ x * 16, digest[x % 32] ^ y * 16))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def file_length(published: PublishedFile) -> int:
    if published.size is not None:
        return published.size
    return len(small_content(published.path, published.media_type, published.version))


def file_blocks(published: PublishedFile) -> Iterator[bytes]:
    """The file's bytes in blocks of at most BLOCK bytes."""
    if published.size is None:
        data = small_content(published.path, published.media_type, published.version)
        for start in range(0, len(data), BLOCK):
            yield data[start : start + BLOCK]
        return
    pattern = _big_pattern(published.path, published.version)
    remaining = published.size
    while remaining > 0:
        take = min(remaining, BLOCK)
        yield pattern[:take]
        remaining -= take


def _big_pattern(path: str, version: int | None) -> bytes:
    seed = hashlib.sha256(f"{path}\0{version}".encode()).digest()
    return (seed * (BLOCK // len(seed) + 1))[:BLOCK]
