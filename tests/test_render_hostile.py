"""Hostile text anywhere in a run: no live mention, no deceptive link, nothing over limits."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bot.core.files import file_title
from bot.core.text import visible_line
from bot.core.views import DigestHeading, RunView
from bot.handinger.models import Source
from bot.slack.links import link, names_other_host
from bot.slack.markdown import markdown_to_mrkdwn
from bot.slack.render import (
    SlackMessage,
    StatusRow,
    render_final,
    render_notice,
    render_progress,
    render_status,
)
from tests.hostile import (
    LINKS,
    URLS,
    deceptive_links,
    hostile_texts,
    limit_problems,
    live_mentions,
    message_texts,
)

REQUESTER = "U0REAL"


def as_dict(message: SlackMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}


def rendered(text: str, rng: random.Random) -> list[SlackMessage]:
    """Every message a run can show, with `text` in every field that comes from outside."""
    url = rng.choice([*URLS, "https://source.example/a", "javascript:x", ""])
    base = RunView(
        run_id=1,
        state="completed",
        requester=REQUESTER,
        instruction=text,
        text=text,
        step=text[:200],
        sources=(Source(url=url, title=text[:300]), Source(url="https://ok.example", title=text)),
        worker_id=text[:50],
        budget=text[:20],
        waiting=True,
        digest=DigestHeading(text[:300]),
    )
    final = render_final(base)
    failed = render_final(RunView(**{**_fields(base), "state": "failed", "error": text}))
    followup = render_final(RunView(**{**_fields(base), "is_followup": True}))
    row = StatusRow(instruction=text, state="running", created_at=0, permalink=url or None)
    return [
        render_progress(RunView(**{**_fields(base), "state": "working"})),
        final.card,
        *final.continuations,
        failed.card,
        followup.card,
        render_notice(text),
        render_status([row]),
    ]


def _fields(view: RunView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__dataclass_fields__}


def test_generated_hostile_text_is_inert_honest_and_within_limits() -> None:
    rng = random.Random(5)
    checked = 0
    for text in hostile_texts(seed=2026, n=300):
        for message in rendered(text, rng):
            wire = "\n".join(message_texts(as_dict(message)))
            assert live_mentions(wire, allowed=[f"<@{REQUESTER}>"]) == [], (text, wire)
            assert deceptive_links(wire) == [], (text, wire)
            assert limit_problems(as_dict(message)) == [], (text, wire)
            checked += 1
    assert checked > 1500


@pytest.mark.parametrize("hostile", LINKS)
def test_no_deceptive_link_from_any_known_trick(hostile: str) -> None:
    for text in (hostile, f"# {hostile}", f"> - **{hostile}**", f"| {hostile} |\n|---|"):
        out = markdown_to_mrkdwn(text)
        assert deceptive_links(out) == [], (text, out)
        assert live_mentions(out) == [], (text, out)


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://evil.example", "https://bank.example", "https://bank.example (<https://evil.example>)"),
        ("https://evil.example/x", "www.bank.example", "www.bank.example (<https://evil.example/x>)"),
        ("https://evil.example", "Log in at bank.example", "Log in at bank.example (<https://evil.example>)"),
        ("https://evil.example", "\u202eelpmaxe.knab", "elpmaxe.knab (<https://evil.example>)"),
        ("https://evil.example", "bank\u3002example", "bank\u3002example (<https://evil.example>)"),
        ("https://bank.example@evil.example/", "bank", "bank (https://bank.example@evil.example/)"),
        ("https://www.bank.example/a", "bank.example", "<https://www.bank.example/a|bank.example>"),
        ("https://BANK.example", "https://bank.example/", "<https://BANK.example>"),
        ("https://xn--bcher-kva.example", "bücher.example", "<https://xn--bcher-kva.example|bücher.example>"),
        ("https://x.io/a?b=1&c=2", "Docs <b>", "<https://x.io/a?b=1&amp;c=2|Docs &lt;b&gt;>"),
        ("https://x.io", "release 1.2.3, e.g. now", "<https://x.io|release 1.2.3, e.g. now>"),
        ("https://x.io", "", "<https://x.io>"),
        ("https://x.io/\u202e", "x", "x (https://x.io/)"),
        ("javascript:alert(1)", "x", "x (javascript:alert(1))"),
    ],
)  # fmt: skip
def test_link_labels_never_name_another_host(url: str, label: str, expected: str) -> None:
    assert link(url, label) == expected


def test_what_counts_as_naming_a_host() -> None:
    target = "https://docs.example/page"
    for label in ["docs.example", "DOCS.EXAMPLE", "www.docs.example", "Read the guide", "v2.0"]:
        assert not names_other_host(label, target), label
    for label in ["python.org", "a@b.example", "http://intranet", "192.168.0.1", "ex.ample"]:
        assert names_other_host(label, target), label


def test_names_and_titles_lose_invisible_characters_and_mention_syntax() -> None:
    assert visible_line("a\u202eb\u200bc\x00d\x1b\ne\u2028f\tg") == "abc d e f g"
    title = file_title("reports/\u202egpj.exe <!channel> <@U1>\u200b.md")
    assert title == "reports/gpj.exe ‹!channel› ‹@U1›.md"
    for text in hostile_texts(seed=7, n=200):
        shown = file_title(text)
        assert "<" not in shown and ">" not in shown
        assert shown == visible_line(shown) and shown.strip()
