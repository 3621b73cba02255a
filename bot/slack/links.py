"""The one place that writes a Slack link, `<url|label>`, and keeps it honest.

Worker output and user text choose both halves of a link, so a label can lie about where the link
goes: `[https://bank.example](https://evil.example)` would show "https://bank.example" and open
evil.example. The rule here: a label that names a host (a URL, a domain such as `bank.example`
or `www.bank.example`, an e-mail address, an IP address) other than the link's own host is never
used as a label. Such a link is shown as the label in plain text followed by the real URL,
`https://bank.example (<https://evil.example>)`, which says truthfully where each part goes.

Only plain http(s) URLs become links; anything else (`javascript:`, relative paths, URLs with a
user name, spaces or invisible characters) is shown as inert text.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from urllib.parse import urlsplit

from ..core.text import visible_line
from .mrkdwn import escape

MAX_URL = 1000
_URL_CHARS = re.compile(r"[!-~\u00a0-\U0010ffff]+")
"""Printable, no spaces; `visible_line` then rules out invisible and control characters."""
_HOST_LIKE = re.compile(r"(?<![\w-])(?:[\w-]+\.)+[\w-]+")
_SCHEME_HOST = re.compile(r"\b[a-z][a-z0-9+.-]*://\[?([\w.-]+)")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
"""Ideographic and fullwidth full stops, which IDNA (and so browsers) read as dots."""


def safe_url(url: str) -> str | None:
    """`url` if it is a plain http(s) URL that may be a link target, else None."""
    if len(url) > MAX_URL or not _URL_CHARS.fullmatch(url) or visible_line(url) != url:
        return None
    if any(char in url for char in "<>|`\\"):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    return url


def link(url: str, label: str) -> str:
    """Slack mrkdwn for a link to `url` shown as `label`, escaped, never deceptive.

    `<url>` when the label is empty or the url itself, `<url|label>` when the label names no
    other host, `label (<url>)` when it does, and inert `label (url)` text for unsafe urls.
    """
    label = visible_line(label)
    target = safe_url(url)
    if target is None:
        shown = visible_line(url)
        return escape(f"{label} ({shown})" if label else shown)
    if not label or label.rstrip("/").lower() in (target.rstrip("/").lower(), _bare(target)):
        return f"<{escape(target)}>"
    if names_other_host(label, target):
        return f"{escape(label)} (<{escape(target)}>)"
    return f"<{escape(target)}|{escape(label)}>"


def names_other_host(label: str, url: str) -> bool:
    """Whether `label` names a host (domain, URL, e-mail or IP address) that `url` is not on."""
    host = _host_key(urlsplit(url).hostname or "")
    return any(_host_key(claimed) != host for claimed in claimed_hosts(label))


def claimed_hosts(label: str) -> list[str]:
    """Every host that `label` looks like it names, as written (lower case)."""
    text = unicodedata.normalize("NFKC", visible_line(label)).lower().translate(_DOTS)
    found = [m.group(1) for m in _SCHEME_HOST.finditer(text)]
    for match in _HOST_LIKE.finditer(text):
        labels = match.group().split(".")
        last = labels[-1]
        is_ipv4 = len(labels) == 4 and all(part.isdigit() for part in labels)
        if is_ipv4 or (len(last) >= 2 and any(char.isalpha() for char in last)):
            found.append(match.group())
    return found


def _host_key(host: str) -> str:
    """A host as compared: lower case, no trailing dot or `www.`, IDNA-encoded when possible."""
    host = host.lower().rstrip(".").translate(_DOTS)
    host = host.removeprefix("www.")
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host


def _bare(url: str) -> str:
    """The url as people write it in text (no scheme or trailing slash), in lower case."""
    return re.sub(r"^https?://", "", url, flags=re.IGNORECASE).rstrip("/").lower()
