"""Renderer and mrkdwn conversion: Slack's limits, escaping, and lossless splitting."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.core.views import DigestHeading, RunView
from bot.handinger.models import Costs, Source, Usage
from bot.slack.blocks import SlackMessage
from bot.slack.markdown import markdown_to_mrkdwn
from bot.slack.mrkdwn import (
    escape,
    split_mrkdwn,
    tail_mrkdwn,
    truncate_mrkdwn,
    unescape,
)
from bot.slack.render import (
    FEEDBACK,
    RUN_ACTIONS,
    FinalMessages,
    format_cost,
    format_duration,
    render_final,
    render_progress,
)
from bot.slack.replies import render_help, render_notice

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C1>",
    "<!subteam^S1>",
    "<http://evil.example|click>",
    "Tom & Jerry",
]
LIVE_TOKEN = re.compile(r"<[!@#]")


def view(**kwargs: Any) -> RunView:
    base: dict[str, Any] = {
        "run_id": 1,
        "state": "completed",
        "requester": "U0REAL",
        "instruction": "do it",
    }
    base.update(kwargs)
    return RunView(**base)


def messages(final: FinalMessages) -> list[SlackMessage]:
    return [final.card, *final.continuations]


def sections(message: SlackMessage) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def answer_sections(message: SlackMessage) -> list[str]:
    """Sections holding answer text: not the quoted instruction, sources or notes."""
    return [
        s for s in sections(message) if not s.startswith(("> ", "*Sources*", "_The full answer"))
    ]


def assert_valid(message: SlackMessage) -> None:
    """The SDK's own models accept every block, and our limits hold."""
    assert 0 < len(message.blocks) <= 45
    for raw in message.blocks:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()
    for text in sections(message):
        assert 0 < len(text) <= 3000
    assert len(unescape(message.text)) <= 160


def total_text(node: Any) -> int:
    """Characters in every text field of a block tree (Slack caps a message's total)."""
    if isinstance(node, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else total_text(v) for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(total_text(item) for item in node)
    return 0


def content_lines(text: str) -> list[str]:
    """Lines that carry content: fence lines and blank lines are layout, added at splits."""
    return [line for line in text.split("\n") if line.strip() and line != "```"]


def fences_balanced(text: str) -> bool:
    return sum(1 for line in text.split("\n") if line == "```") % 2 == 0


def long_markdown(size: int, seed: int = 7) -> str:
    """Realistic agent output: headings, paragraphs, lists, code, tables and hostile text."""
    rng = random.Random(seed)
    words = ["deploy", "**bold**", "_it_", "`x<y`", "a&b", "<!here>", "[doc](https://d.io/a)"]
    parts: list[str] = []
    n = 0
    while sum(len(p) + 2 for p in parts) < size:
        n += 1
        kind = n % 5
        if kind == 0:
            parts.append(f"## Section {n}")
        elif kind == 1:
            parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(20, 90))))
        elif kind == 2:
            parts.append("\n".join(f"- item {n}.{i} {rng.choice(words)}" for i in range(8)))
        elif kind == 3:
            body = "\n".join(
                f"    line_{i} = {i} & {i} < {i + 1}" for i in range(rng.randint(5, 60))
            )
            parts.append(f"```python\n{body}\n```")
        else:
            parts.append("| a | b |\n|---|---|\n| 1 | <!channel> |\n| 2 | y |")
    return "\n\n".join(parts)[:size]


# ---- escaping ----------------------------------------------------------------------------------


def test_escape_ampersand_first_and_round_trip() -> None:
    assert escape("<!channel> & &amp;") == "&lt;!channel&gt; &amp; &amp;amp;"
    assert unescape(escape("a < b && &lt; >")) == "a < b && &lt; >"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_never_becomes_live_anywhere(hostile: str) -> None:
    v = view(
        requester="U0REAL",
        instruction=f"please {hostile} now",
        text=f"# {hostile}\n\n{hostile}, **{hostile}**, `{hostile}`\n> {hostile}\n- {hostile}",
        sources=(Source(url="https://ok.example/a", title=f"title {hostile}"),),
        step=f"step {hostile}",
        waiting=True,
        worker_id=f"w{hostile}",
        budget=f"b{hostile}",
        digest=DigestHeading(f"h{hostile}", late=True),
    )
    rendered = [
        render_progress(view(**{**_fields(v), "state": "working"})),
        *messages(render_final(v)),
        *messages(render_final(view(**{**_fields(v), "state": "failed", "error": hostile}))),
        render_notice(f"oops {hostile}"),
    ]
    for message in rendered:
        dumped = json.dumps({"text": message.text, "blocks": message.blocks})
        tokens = LIVE_TOKEN.findall(dumped)
        assert tokens == ["<@"] * dumped.count("<@U0REAL>"), dumped
        assert "<http://evil" not in dumped
        assert_valid(message)


def _fields(v: RunView) -> dict[str, Any]:
    return {name: getattr(v, name) for name in v.__dataclass_fields__}


def test_requester_only_live_when_it_is_a_user_id() -> None:
    root = render_progress(view(state="working", requester="U12AB"))
    assert root.blocks[0]["elements"][0]["text"] == "<@U12AB> asked"
    odd = render_progress(view(state="working", requester="!channel"))
    assert odd.blocks[0]["elements"][0]["text"] == "!channel asked"
    lower = render_progress(view(state="working", requester="u12ab>"))
    assert lower.blocks[0]["elements"][0]["text"] == "u12ab&gt; asked"


def test_converter_never_emits_a_mention_on_random_input() -> None:
    """Any `<` the converter emits opens an http(s) link; nothing else can start a token."""
    rng = random.Random(1234)
    pieces = ["<", ">", "!", "@", "#", "|", "&", "[", "]", "(", ")", "`", "*", "_", "~", "\n"]
    pieces += ["http://", "https://e.x/", "channel", "U1", " ", "> ", "- ", "# ", "```", "!["]
    for _ in range(3000):
        md = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        out = markdown_to_mrkdwn(md)
        assert not LIVE_TOKEN.search(out), (md, out)
        for match in re.finditer("<", out):
            assert out.startswith(("<http://", "<https://"), match.start()), (md, out)
        assert fences_balanced(out), (md, out)
        assert all(line == "```" for line in out.split("\n") if "```" in line), (md, out)


# ---- markdown → mrkdwn -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        ("**b** and __b__", "*b* and *b*"),
        ("*i* and _i_", "_i_ and _i_"),
        ("~~gone~~", "~gone~"),
        ("***both***", "*_both_*"),
        ("snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4"),
        ("*a *a **a ~~a __a", "*a *a **a ~~a __a"),
        ("**a *b* c**", "*a _b_ c*"),
        ("# Title", "*Title*"),
        ("### Deep **title** ###", "*Deep title*"),
        ("- one\n* two\n  - nested", "• one\n• two\n  • nested"),
        ("1. first\n2) second", "1. first\n2) second"),
        ("- [ ] todo\n- [x] done", "☐ todo\n☑ done"),
        ("> quoted **b**", "> quoted *b*"),
        ("> > nested", "> nested"),
        ("a > b < c & d", "a &gt; b &lt; c &amp; d"),
        ("`**not** <b>`", "`**not** &lt;b&gt;`"),
        ("[Docs](https://x.io/a?b=1&c=2)", "<https://x.io/a?b=1&amp;c=2|Docs>"),
        ('[**Docs**](https://x.io "title")', "<https://x.io|Docs>"),
        ("[x](javascript:alert(1))", "x (javascript:alert(1))"),
        ("[x](<https://a b>)", "x (https://a b)"),
        ("[x](https://a|b)", "x (https://a|b)"),
        ("[x](/relative)", "x (/relative)"),
        ("![chart](https://i.io/c.png)", "<https://i.io/c.png|chart>"),
        ("see https://x.io/a_b_c_d.", "see https://x.io/a_b_c_d."),
        ("(https://x.io/a_b)", "(https://x.io/a_b)"),
        ("<https://auto.io>", "<https://auto.io>"),
        ("<http://evil.example|click>", "&lt;http://evil.example|click&gt;"),
        ("\\*literal\\*", "*literal*"),
        ("---", "──────────"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("```python\nx = '<!here>' and **y**\n```", "```\nx = '&lt;!here&gt;' and **y**\n```"),
        ("```\nunclosed & open", "```\nunclosed &amp; open\n```"),
        ("~~~\n```\n~~~", "```\n`\u200b`\u200b`\n```"),
        ("text ```inline``` more", "text `inline` more"),
        ("http://x.io/_a_b_ and *i*", "http://x.io/_a_b_ and _i_"),
        ("1. a\n   - b\n\n   more", "1. a\n   • b\n\n   more"),
        ("> a\n>\n> b\n\n> c", "> a\n>\n> b\n\n> c"),
        ("> " * 30 + "deep", "> deep"),
        (
            "[r]: https://r.example\n\nsee [r] and [s][r]",
            "see <https://r.example|r> and <https://r.example|s>",
        ),
        (
            "[https://bank.example](https://evil.example)",
            "https://bank.example (<https://evil.example>)",
        ),
        ("[bank.example](https://www.bank.example/a)", "<https://www.bank.example/a|bank.example>"),
        ("[a.example](https://u@b.example)", "a.example (https://u@b.example)"),
        ("&lt;!here&gt; &#60;@U1&#62;", "&lt;!here&gt; &lt;@U1&gt;"),
    ],
)
def test_markdown_to_mrkdwn(md: str, expected: str) -> None:
    assert markdown_to_mrkdwn(md) == expected


def test_table_becomes_an_aligned_code_block() -> None:
    md = "| name | n |\n|:---|---:|\n| alpha | 1 |\n| b | <!here> |\n\nafter"
    assert markdown_to_mrkdwn(md) == (
        "```\n"
        "| name  | n       |\n"
        "| ----- | ------- |\n"
        "| alpha | 1       |\n"
        "| b     | &lt;!here&gt; |\n"
        "```\n"
        "\n"
        "after"
    )


# ---- cutting ---------------------------------------------------------------------------------


def test_split_never_cuts_an_entity_or_a_link() -> None:
    text = markdown_to_mrkdwn("&" * 7001)
    parts = split_mrkdwn(text, 3000)
    assert all(len(p) <= 3000 and re.fullmatch(r"(&amp;)+", p) for p in parts)
    assert "".join(parts) == text
    links = markdown_to_mrkdwn(" ".join(f"[page {i}](https://x.io/{i})" for i in range(400)))
    for part in split_mrkdwn(links, 3000):
        assert len(part) <= 3000
        assert re.fullmatch(r"<https://x\.io/\d+\|page \d+>( <https://x\.io/\d+\|page \d+>)*", part)


def test_split_random_markdown_loses_nothing() -> None:
    """Parts fit, render on their own, and together hold exactly the original text."""
    rng = random.Random(99)

    def squash(text: str) -> str:
        return re.sub(r"\s+", "", text.replace("```", ""))

    for _ in range(200):
        md = long_markdown(rng.randint(100, 6000), seed=rng.randint(0, 10_000))
        text = markdown_to_mrkdwn(md)
        limit = rng.randint(60, 900)
        parts = split_mrkdwn(text, limit)
        assert all(0 < len(p) <= limit and fences_balanced(p) for p in parts)
        assert all(not re.search(r"&(?!amp;|lt;|gt;)", p) for p in parts)  # no cut entity
        assert all(not re.search(r"<[^>\n]*(\n|\Z)", p) for p in parts)  # no cut link
        assert squash("".join(parts)) == squash(text)


def test_split_closes_and_reopens_code_blocks() -> None:
    text = markdown_to_mrkdwn("intro\n```\n" + "\n".join(f"row {i}" for i in range(2000)) + "\n```")
    parts = split_mrkdwn(text, 3000)
    assert len(parts) > 3
    for part in parts[1:]:
        assert part.startswith("```\n")
    assert all(fences_balanced(p) and len(p) <= 3000 for p in parts)
    assert content_lines("\n".join(parts)) == content_lines(text)


def test_tail_and_truncate_respect_entities() -> None:
    text = "&" * 5000
    escaped = escape(text)
    tail, begin = tail_mrkdwn(escaped, 2800)
    assert len(tail) <= 2800 and re.fullmatch(r"(&amp;)+", tail)
    assert escaped[begin:] == tail
    cut = truncate_mrkdwn(escaped, 103)
    assert len(cut) <= 103 and re.fullmatch(r"(&amp;)+…", cut)


# ---- progress --------------------------------------------------------------------------------


def test_progress_root_card_layout() -> None:
    msg = render_progress(
        view(state="working", text="Hello **there**", elapsed=65, step="web search", budget="high")
    )
    assert_valid(msg)
    texts = json.dumps(msg.blocks)
    assert msg.blocks[0]["elements"][0]["text"] == "<@U0REAL> asked · budget: high"
    assert sections(msg)[0] == "> do it"
    assert msg.blocks[2]["elements"][0]["text"] == (
        ":hourglass_flowing_sand: Working · 1m 05s · web search"
    )
    assert sections(msg)[-1] == "Hello *there*"
    assert "_Thinking…_" not in texts
    assert msg.text == "⏳ Working: do it"


def test_progress_queued_followup_and_thinking() -> None:
    msg = render_progress(view(state="queued", is_followup=True, waiting=True))
    assert_valid(msg)
    assert (
        msg.blocks[0]["elements"][0]["text"]
        == ":clock3: Queued · waiting for the worker's current turn"
    )
    assert "asked" not in json.dumps(msg.blocks) and "do it" not in json.dumps(msg.blocks)
    working = render_progress(view(state="working", is_followup=True))
    assert working.blocks[-1]["elements"][0]["text"] == "_Thinking…_"


def test_progress_instruction_is_quoted_and_truncated() -> None:
    msg = render_progress(view(state="working", instruction="line one\n<b>\n" + "x" * 3000))
    quote = sections(msg)[0]
    assert quote.startswith("> line one\n> &lt;b&gt;\n> xxx")
    assert quote.endswith("…")
    assert len(unescape(re.sub(r"(?m)^> ", "", quote))) == 1500


def test_progress_preview_shows_the_latest_part_within_limits() -> None:
    md = "\n".join(f"line {i:05d} & more" for i in range(1000))
    msg = render_progress(view(state="working", text=md, elapsed=3))
    assert_valid(msg)
    preview = sections(msg)[-1]
    assert len(preview) <= 2800
    assert preview.endswith("line 00999 &amp; more")
    assert preview.startswith("line ")  # cut at a line boundary
    note = msg.blocks[-2]["elements"][0]["text"]
    assert note == f"_…showing the end of the answer so far ({len(md):,} characters)_"


def test_progress_preview_reopens_a_code_block_cut_at_the_top() -> None:
    md = "intro\n```\n" + "\n".join(f"x{i} = {i}" for i in range(2000))  # still streaming
    preview = sections(render_progress(view(state="working", text=md)))[-1]
    assert preview.startswith("```\n") and preview.endswith("\n```")
    assert fences_balanced(preview) and len(preview) <= 2800


# ---- final -----------------------------------------------------------------------------------


def test_final_45k_answer_uses_four_continuations_and_attaches_the_rest() -> None:
    md = long_markdown(45_000)
    srcs = tuple(Source(url=f"https://s.io/{i}", title="S" * 140) for i in range(15))
    final = render_final(view(text=md, instruction="please " * 300, sources=srcs))
    assert 1 <= len(final.continuations) <= 4
    assert final.attachment == ("answer.md", md)
    for message in messages(final):
        assert_valid(message)
        assert all(fences_balanced(s) for s in sections(message))
        assert sum(len(s) for s in answer_sections(message)) <= 11_000
        assert total_text(message.blocks) <= 12_000
    visible = "\n".join(s for m in messages(final) for s in answer_sections(m))
    expected = content_lines(markdown_to_mrkdwn(md))
    shown = content_lines(visible)
    assert shown == expected[: len(shown)]
    assert len(visible) > 35_000
    assert sections(messages(final)[-1])[-1] == "_The full answer is attached as answer.md._"
    assert "*Sources*" in json.dumps(final.card.blocks)
    assert footer(final.card)["type"] == "context"  # footer on the card, not a continuation


def test_final_5k_answer_fits_the_card() -> None:
    md = long_markdown(5_000, seed=3)
    final = render_final(view(text=md))
    assert final.continuations == [] and final.attachment is None
    assert_valid(final.card)
    assert content_lines("\n".join(answer_sections(final.card))) == content_lines(
        markdown_to_mrkdwn(md)
    )


def test_final_20k_answer_continues_in_the_thread() -> None:
    md = long_markdown(20_000, seed=5)
    final = render_final(view(text=md))
    assert final.attachment is None
    assert 1 <= len(final.continuations) <= 4
    total = len(final.continuations) + 1
    for number, message in enumerate(final.continuations, start=2):
        assert_valid(message)
        assert message.blocks[0]["elements"][0]["text"] == f"(continued {number}/{total})"
    visible = "\n".join(s for m in messages(final) for s in answer_sections(m))
    assert content_lines(visible) == content_lines(markdown_to_mrkdwn(md))


def test_final_sections_never_leave_a_fence_open() -> None:
    md = "\n\n".join(
        f"Para {i}\n```\n" + "\n".join(f"code {i}.{j}" for j in range(150 + i * 40)) + "\n```"
        for i in range(12)
    )
    for message in messages(render_final(view(text=md))):
        for text in sections(message):
            assert fences_balanced(text), text


def test_final_done_status_footer_and_notification() -> None:
    final = render_final(
        view(
            text="**Answer** here",
            elapsed=99,
            worker_id="wrk_42",
            steps=3,
            usage=Usage(total_tokens=1234567, duration_ms=65_000, credits=2.5, cost_usd=9.0),
            costs=Costs(model_cost_usd=0.01, tool_cost_usd=0.0023),
        )
    )
    card = final.card
    assert_valid(card)
    assert card.blocks[2]["elements"][0]["text"] == ":white_check_mark: Done in 1m 05s"
    assert footer(card)["elements"][0]["text"] == (
        ":stopwatch: 1m 05s · 3 steps · 1,234,567 tokens · $0.0123 · 2.50 credits · worker `wrk_42`"
    )
    assert card.text == "✅ Answer here"


def test_footer_without_usage_or_costs() -> None:
    bare = render_final(view(text="ok", elapsed=12.7)).card
    assert footer(bare)["elements"][0]["text"] == ":stopwatch: 12s"
    usage_only = render_final(
        view(text="ok", usage=Usage(steps=1, cost_usd=1.5, credits=3.0), worker_id="w1")
    ).card
    assert footer(usage_only)["elements"][0]["text"] == (
        ":stopwatch: 0s · 1 step · $1.50 · 3 credits · worker `w1`"
    )


def test_failed_run_shows_partial_answer_and_escaped_error() -> None:
    final = render_final(view(state="failed", text="partial <!here>", error="boom <@U9> & co"))
    assert final.card.blocks[2]["elements"][0]["text"] == ":x: Failed — boom &lt;@U9&gt; &amp; co"
    assert "partial &lt;!here&gt;" in sections(final.card)
    assert final.card.text == "❌ Failed: boom &lt;@U9&gt; &amp; co"
    empty = render_final(view(state="failed", text=""))
    assert empty.card.blocks[2]["elements"][0]["text"] == ":x: Failed"
    assert_valid(empty.card)


def test_sources_numbered_capped_and_unsafe_urls_stay_text() -> None:
    srcs = (
        Source(url="https://a.io/x?q=1&r=2", title="A <b>"),
        Source(url="javascript:alert(1)", title="bad"),
        Source(url="https://c.io/a|b", title=None),
        *(Source(url=f"https://n.io/{i}", title=f"N{i}") for i in range(12)),
    )
    card = render_final(view(text="x", sources=srcs)).card
    block = next(s for s in sections(card) if s.startswith("*Sources*"))
    lines = block.split("\n")
    assert lines[1] == "1. <https://a.io/x?q=1&amp;r=2|A &lt;b&gt;>"
    assert lines[2] == "2. bad (javascript:alert(1))"
    assert lines[3] == "3. https://c.io/a|b"
    assert lines[10] == "10. <https://n.io/6|N6>"
    assert lines[11] == "and 5 more"
    assert len(lines) == 12


def test_completed_without_text_says_so() -> None:
    card = render_final(view(text="   ")).card
    assert "_The worker finished without a text answer._" in sections(card)
    assert card.text == "✅ Done"


# ---- notices, help, formats --------------------------------------------------------------------


def test_render_notice_escapes_unless_trusted() -> None:
    msg = render_notice("File <!channel> & x.pdf failed")
    assert sections(msg) == ["File &lt;!channel&gt; &amp; x.pdf failed"]
    assert_valid(msg)
    trusted = render_notice("Invite me with `/invite <@U1>`", trusted=True)
    assert sections(trusted) == ["Invite me with `/invite <@U1>`"]
    assert len(sections(render_notice("<" * 5000))[0]) <= 3000


def test_help_mentions_options_threads_and_escape() -> None:
    msg = render_help("/handinger", max_budget="high")
    assert_valid(msg)
    text = sections(msg)[0]
    for needle in [
        "--budget",
        "-b",
        "low|standard|high|unlimited",
        "`high`",
        "thread",
        "@Handinger",
    ]:
        assert needle in text
    assert "/handinger -- status of the deploy" in text
    assert "/handinger help" in text
    assert "&lt;instruction&gt;" in text and not LIVE_TOKEN.search(text)
    assert "highest budget" not in sections(render_help())[0]


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (12.9, "12s"), (59, "59s"), (65, "1m 05s"), (3599, "59m 59s"), (3720, "1h 02m")],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_format_cost() -> None:
    assert format_cost(0.0123) == "$0.0123"
    assert format_cost(0) == "$0.0000"
    assert format_cost(12.345) == "$12.35"


def footer(message: SlackMessage) -> dict[str, Any]:
    """The footer: the last context block (the action menu may follow it)."""
    return [b for b in message.blocks if b["type"] == "context"][-1]


def test_finished_runs_offer_email_and_refresh_only_with_a_worker() -> None:
    done = render_final(view(state="completed", text="hi", worker_id="w9", run_id=7)).card
    [actions] = [b for b in done.blocks if b["type"] == "actions"]
    [menu] = actions["elements"]
    assert menu["type"] == "overflow" and menu["action_id"] == RUN_ACTIONS
    assert [o["value"] for o in menu["options"]] == ["email:7", "refresh:7", "schedule:7"]
    assert done.blocks[-2] is actions
    [feedback] = done.blocks[-1]["elements"]
    assert feedback["type"] == "feedback_buttons" and feedback["action_id"] == FEEDBACK
    assert feedback["positive_button"]["value"] == "up:7"
    assert feedback["negative_button"]["value"] == "down:7"
    failed = render_final(view(state="failed", error="x", worker_id="w9")).card
    assert not [b for b in failed.blocks if b["type"] == "context_actions"]
    no_worker = render_final(view(state="failed", error="x", worker_id=None)).card
    assert not [b for b in no_worker.blocks if b["type"] == "actions"]
