"""Is what reaches Slack safe? Checks of rendered output, and a generator of hostile input.

Shared by the rendering tests and the fault suite. The checks read Slack's wire text the way
Slack does and are written independently of `bot/slack/links.py`, so a mistake there is not
mirrored here:

- `live_mentions(text)`: `<!here>`, `<!channel>`, `<!everyone>`, `<!subteam^…>`, `<@U…>`,
  `<#C…>` tokens (the `<!date^…>` formatting token is not a mention);
- `deceptive_links(text)`: `<url|label>` links whose label names a host other than the url's;
- `limit_problems(message)`: what Slack would refuse or cut in a `{text, blocks}` message;
- `message_texts(message)`: every string of a message that Slack parses as text.

`hostile_texts(seed, n)` yields `n` reproducible texts mixing markdown links, mentions, bidi and
control characters, URLs and markup runs.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.models.blocks import Block

LIVE_TOKEN = re.compile(r"<(?:[@#]|!(?!date\^))[^>]*>")
LINK = re.compile(r"<(https?://[^|>\s]*)\|([^>]*)>", re.IGNORECASE)
SECTION_LIMIT = 3000
BLOCKS_LIMIT = 50
MESSAGE_TEXT_LIMIT = 40_000
BLOCK_TEXT_TOTAL = 12_000


def live_mentions(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """Live mention tokens in Slack text, except the `allowed` ones (e.g. the requester's)."""
    permitted = set(allowed)
    return [token for token in LIVE_TOKEN.findall(text) if token not in permitted]


def _unescape(text: str) -> str:
    return re.sub(r"&(amp|lt|gt);", lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def _host(host: str) -> str:
    host = host.lower().strip(".")
    host = host[4:] if host.startswith("www.") else host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def label_hosts(label: str) -> set[str]:
    """Hosts a reader would take a label to name: domains, URLs, e-mail domains, IPv4."""
    text = unicodedata.normalize("NFKC", label).lower()
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc"))
    text = re.sub("[\u3002\uff0e\uff61]", ".", text)
    found = {m.group(1) for m in re.finditer(r"[a-z][a-z0-9+.-]*://([^/\s:?#@]+)", text)}
    for word in re.findall(r"[\w.-]+", text):
        parts = word.strip(".-").split(".")
        if len(parts) < 2 or not all(parts):
            continue
        tld = parts[-1]
        ipv4 = len(parts) == 4 and all(p.isdigit() for p in parts)
        if ipv4 or (len(tld) >= 2 and re.search(r"[^\W\d_]", tld)):
            found.add(".".join(parts))
    return {_host(h) for h in found}


def deceptive_links(text: str) -> list[tuple[str, str]]:
    """`(url, label)` of every `<url|label>` whose label names a host other than url's."""
    bad = []
    for match in LINK.finditer(text):
        url, label = _unescape(match.group(1)), _unescape(match.group(2))
        target = _host(urlsplit(url).hostname or "")
        if any(host != target for host in label_hosts(label)):
            bad.append((url, label))
    return bad


def message_texts(message: dict[str, Any]) -> list[str]:
    """The fallback text and every `text` string inside the blocks."""
    found = [str(message.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return found


def limit_problems(message: dict[str, Any]) -> list[str]:
    """What Slack would refuse or cut: too many blocks, a text object over 3,000 chars, over
    12,000 chars of block text, a fallback over 40,000, or blocks slack_sdk rejects."""
    problems = []
    blocks = message.get("blocks") or []
    if len(blocks) > BLOCKS_LIMIT:
        problems.append(f"{len(blocks)} blocks")
    texts = message_texts(message)
    if len(texts[0]) > MESSAGE_TEXT_LIMIT:
        problems.append(f"fallback text of {len(texts[0])} chars")
    problems += [f"a text of {len(t)} chars" for t in texts[1:] if len(t) > SECTION_LIMIT]
    if sum(len(t) for t in texts[1:]) > BLOCK_TEXT_TOTAL:
        problems.append(f"{sum(len(t) for t in texts[1:])} chars in blocks")
    for raw in blocks:
        try:
            parsed = Block.parse(raw)
            assert parsed is not None
            parsed.validate_json()
        except Exception as error:
            problems.append(f"invalid block {raw.get('type')}: {error}")
    return problems


# ---- hostile input -----------------------------------------------------------------------------

MENTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!here|here>",
    "<@U123>",
    "<@U123|bob>",
    "<#C1>",
    "<#C1|general>",
    "<!subteam^S1>",
    "<!subteam^S1|@team>",
    "&lt;!here&gt;",
    "&#60;!channel&#62;",
    "<<!here>>",
    "<mailto:x@y.z|<!here>>",
    "`<!here>`",
]
LINKS = [
    "[https://bank.example](https://evil.example)",
    "[www.bank.example](https://evil.example/login)",
    "[bank.example](http://evil.example)",
    "[Bank.Example/login](https://evil.example)",
    "![paypal.com](https://evil.example/x.png)",
    "[**https://bank.example**](https://evil.example)",
    "[_bank.example_](https://evil.example)",
    "[`bank.example`](https://evil.example)",
    "[[bank.example](https://a.example)](https://evil.example)",
    "[![bank.example](https://i.example/x.png)](https://evil.example)",
    "[bank\u3002example](https://evil.example)",
    "[\uff42\uff41\uff4e\uff4b\uff0e\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45](https://evil.example)",
    "[bank.exa\u200bmple](https://evil.example)",
    "[\u202eelpmaxe.knab](https://evil.example)",
    "[user@bank.example](https://evil.example)",
    "[10.0.0.1](https://evil.example)",
    "[bank.example](https://bank.example@evil.example)",
    "[see bank.example now](https://evil.example)",
    "[bücher.example](https://xn--bcher-kva.example)",
    "<https://evil.example|https://bank.example>",
    "[Bank](https://bank.example)",
    "[bank.example](https://www.bank.example/a)",
    "[x](javascript:alert(1))",
    "[x](https://a|b)",
    "<https://auto.example>",
]
URLS = [
    "https://a/" + ")" * 40,
    "https://x.example/a_b_c",
    "https://x.example/(a)",
    "http://x.example/*b*",
    "https://x.example/`x`",
    "HTTPS://X.EXAMPLE/",
    "www.bank.example",
]
INVISIBLE = [
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\x00",
    "\x1b[31m",
]
INVISIBLE += ["\x85", "\u2028", "\u00ad", "\ud800"]
MARKUP = ["**", "*", "_", "__", "`", "```", "~~", "# ", "> ", "- ", "1. ", "- [ ] ", "\\", "!"]
MARKUP += ["[", "]", "(", ")", "<", ">", "&", "|", "| a | b |\n|---|---|\n| c | d |\n", "---"]
WORDS = ["deploy", "the", "report", "bank", "login", "@here", "@channel", " ", " ", "\n", "\n\n"]
KINDS = [MENTIONS, LINKS, URLS, INVISIBLE, MARKUP, WORDS]


def hostile_texts(seed: int, n: int, max_pieces: int = 40) -> Iterator[str]:
    """`n` hostile texts, the same for the same seed: pieces of every kind above, sometimes
    repeated into long runs."""
    rng = random.Random(seed)
    for _ in range(n):
        pieces = []
        for _ in range(rng.randint(1, max_pieces)):
            piece = rng.choice(rng.choice(KINDS))
            if rng.random() < 0.05:
                piece *= rng.randint(2, 200)
            pieces.append(piece)
        yield "".join(pieces)
