"""Hostile worker output and user instructions, generated from a seed: pings, deceptive links,
bidi and control characters, pathological markdown, huge answers.

The same seed always gives the same text, so a failing try can be replayed exactly. Every
answer starts with a sentence unique to its seed, which is what the invariants use to find
where the answer is shown.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

TRUSTED = ("bank.example", "paypal.com", "github.com", "accounts.google.com", "www.bank.example")
EVIL = ("evil.example", "attacker.test", "bank.example.evil.test", "xn--bnk-5qa.example")
TARGETS = ("U0VICTIM", "W0EVIL", "U0002", "U0BOT")
"""Users hostile text tries to ping; none of them acts in a hostile try."""
INVISIBLE = (
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200b",
    "\u200f",
    "\ufeff",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r",
    "\x7f",
)
WORDS = (
    "amber",
    "bridge",
    "cobalt",
    "dune",
    "ember",
    "fjord",
    "garnet",
    "harbour",
    "indigo",
    "juniper",
    "kestrel",
    "lantern",
    "meadow",
    "nickel",
    "orchid",
    "pebble",
    "quartz",
    "russet",
    "saffron",
    "thistle",
    "umber",
    "vessel",
    "willow",
    "yarrow",
    "zephyr",
)


def _evil_url(rng: random.Random) -> str:
    return f"https://{rng.choice(EVIL)}/{rng.choice(WORDS)}"


def mention(rng: random.Random) -> str:
    target = rng.choice(TARGETS)
    return rng.choice(
        [
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "<!here|here>",
            f"<@{target}>",
            f"<@{target}|boss>",
            "<!subteam^S0TEAM|@oncall>",
            "&lt;!channel&gt;",
            "<<!everyone>>",
            "\\<!here>",
            "<!chan\u200bnel>",
            f"[ping](<@{target}>)",
            "`<!channel>` and <!channel>",
            "<mailto:a@b.example|<!here>>",
        ]
    )


def deceptive_link(rng: random.Random) -> str:
    trusted = rng.choice(TRUSTED)
    url, other = _evil_url(rng), _evil_url(rng)
    return rng.choice(
        [
            f"[https://{trusted}]({url})",
            f"[{trusted}]({url})",
            f"[www.{trusted.removeprefix('www.')}]({url})",
            f"![https://{trusted}]({url}/logo.png)",
            f"**[{trusted}]({url})**",
            f"[**https://{trusted}**]({url})",
            f"[_{trusted}_]({url})",
            f"[[{trusted}]({url})]({other})",
            f"[{trusted}/login]({url})",
            f"<{url}|https://{trusted}>",
            f"[HTTPS://{trusted.upper()}]({url})",
            f"[{trusted[:2]}\u200b{trusted[2:]}]({url})",
            f"[{trusted}][r{rng.randrange(99)}]\n\n[r{rng.randrange(99)}]: {url}",
            f'[{trusted}]({url} "https://{trusted}")',
            f"[`https://{trusted}`]({url})",
            f"[{trusted}](<{url}>)",
            f"[https://{trusted}](javascript:alert(1))",
            f"[click here]({url})",  # not deceptive: the label names no domain
            f"<{url}>",
            f"see {url} now",
        ]
    )


def invisible(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    marks = "".join(rng.choice(INVISIBLE) for _ in range(rng.randrange(1, 4)))
    return rng.choice([f"invoice{marks}fdp.exe", f"{word}{marks}{word}", f"{marks}{word}"])


def pathological(rng: random.Random, size: int) -> str:
    n = rng.randrange(size // 4, size)
    return rng.choice(
        [
            "https://a/" + ")" * n,
            "(" * n + ")" * n,
            "*" * n,
            "_" * n,
            "~" * n,
            "`" * n,
            "[" * n + "](" * n,
            "![" * n,
            "> " * min(n, 500) + "deep",
            "\n".join("  " * i + "- x" for i in range(min(n, 300))),
            "|a|b|\n|-|-|\n" + "|<!here>|[x.example](https://evil.example)|\n" * min(n, 400),
            "```\n" + "unclosed fence\n" * min(n, 400),
            "<" * n,
            "&" * n + "&amp;" * (n // 5),
            "**a" * (n // 3),
            "https://" + "a." * (n // 2) + "example",
            "[a](" * (n // 4),
        ]
    )


@dataclass(frozen=True)
class Hostile:
    """One generated worker output: the answer and its sources."""

    seed: int
    text: str
    sources: list[dict[str, str]]


FAMILIES: tuple[Callable[[random.Random], str], ...] = (mention, deceptive_link, invisible)


def answer(seed: int, huge: bool = False) -> Hostile:
    """A worker answer mixing ordinary prose with hostile fragments."""
    rng = random.Random(seed)
    marker = " ".join(rng.sample(WORDS, 9))
    parts = [f"Hostile seed {seed}: {marker}."]
    for _ in range(rng.randrange(4, 11)):
        kind = rng.random()
        if kind < 0.8:
            parts.append(rng.choice(FAMILIES)(rng))
        else:
            parts.append(pathological(rng, 3000))
        if rng.random() < 0.4:
            parts.append(" ".join(rng.sample(WORDS, 6)) + ".")
    if huge:
        parts.append(pathological(rng, 300_000))
    separators = ["\n\n", "\n", " ", "\n- ", "\n> ", "\n# "]
    text = parts[0] + "".join(rng.choice(separators) + p for p in parts[1:])
    trusted = rng.choice(TRUSTED)
    sources = [
        {"url": _evil_url(rng), "title": f"https://{trusted}"},
        {"url": _evil_url(rng), "title": trusted},
        {"url": "https://example.org/fine", "title": mention(rng)},
        {"url": "javascript:alert(1)", "title": "click"},
        {"url": _evil_url(rng), "title": invisible(rng)},
    ]
    return Hostile(seed, text, rng.sample(sources, rng.randrange(1, len(sources) + 1)))


def instruction(seed: int) -> str:
    """A user's instruction that the worker echoes back (its first line becomes the heading)."""
    rng = random.Random(-seed)
    pieces = [mention(rng), deceptive_link(rng), invisible(rng), mention(rng)]
    rng.shuffle(pieces)
    return " ".join(pieces)
