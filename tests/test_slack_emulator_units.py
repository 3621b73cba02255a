"""In-process unit tests of the emulator's pure parts: limiter, clock, limits, signing, events."""

from __future__ import annotations

import pytest
from slack_sdk.signature import SignatureVerifier

from emulators.slack.clock import Clock
from emulators.slack.config import parse_args
from emulators.slack.errors import ApiError
from emulators.slack.events import events_for_post, rich_text
from emulators.slack.http_delivery import encode, sign
from emulators.slack.limits import RateLimiter
from emulators.slack.records import redact
from emulators.slack.seed import seed_default
from emulators.slack.state import Message, World
from emulators.slack.validate import check_blocks, check_text


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_clock(scale: float = 1.0) -> tuple[Clock, FakeTime]:
    fake = FakeTime()
    return Clock(scale, monotonic=fake, wall=fake), fake


def test_tier3_allows_a_burst_of_50_then_no_more_than_50_in_any_minute() -> None:
    clock, fake = make_clock()
    limiter = RateLimiter(clock)
    assert all(limiter.check("chat.update", "T1") is None for _ in range(50))
    wait = limiter.check("chat.update", "T1")
    assert wait is not None and wait == pytest.approx(60.0)  # until the first call ages out
    assert clock.retry_after(wait) == 60
    assert limiter.check("chat.update", "T2") is None  # per workspace
    assert limiter.check("chat.postEphemeral", "T1") is None  # per method
    fake.now += 30
    assert limiter.check("chat.update", "T1") == pytest.approx(30.0)  # a bucket would refill
    fake.now += 30
    assert all(limiter.check("chat.update", "T1") is None for _ in range(50))
    assert limiter.check("chat.update", "T1") is not None


def test_tier3_spread_calls_age_out_one_by_one() -> None:
    clock, fake = make_clock()
    limiter = RateLimiter(clock)
    for _ in range(50):  # one every 1.2 s: exactly the allowance
        assert limiter.check("chat.update", "T1") is None
        fake.now += 1.2
    assert limiter.check("chat.update", "T1") is None  # the first call is 60 s old
    assert limiter.check("chat.update", "T1") == pytest.approx(1.2)
    level = next(x for x in limiter.levels() if x["method"] == "chat.update")
    assert level["tokens"] == 0 and level["window_s"] == 60.0


def test_post_message_is_per_channel_and_off_mode_admits_all() -> None:
    clock, _ = make_clock()
    limiter = RateLimiter(clock)
    assert [limiter.check("chat.postMessage", "T1", "C1") for _ in range(3)] == [None] * 3
    assert limiter.check("chat.postMessage", "T1", "C1") == pytest.approx(1.0)
    assert limiter.check("chat.postMessage", "T1", "C2") is None
    assert limiter.check("unknown.method", "T1") is None
    limiter.mode = "off"
    assert all(limiter.check("chat.postMessage", "T1", "C1") is None for _ in range(100))


def test_time_scale_shrinks_windows_and_retry_after() -> None:
    clock, fake = make_clock(scale=60.0)
    limiter = RateLimiter(clock)
    limiter.override("chat.update", 1, 1, "workspace")
    assert limiter.check("chat.update", "T1") is None
    wait = limiter.check("chat.update", "T1")
    assert wait is not None and wait == pytest.approx(60.0)  # one emulated minute...
    assert clock.retry_after(wait) == 1  # ...is one real second
    fake.now += 1.0
    assert limiter.check("chat.update", "T1") is None
    before = clock.now()
    clock.set_scale(1.0)
    assert clock.now() == before  # changing speed never jumps
    fake.now += 2
    assert clock.now() == pytest.approx(before + 2)


def test_block_limits() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}
    check_blocks([section])
    with pytest.raises(ApiError) as too_long:
        check_blocks([{**section, "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    assert too_long.value.error == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in too_long.value.extra["errors"][0]
    with pytest.raises(ApiError) as too_many:
        check_blocks([{"type": "divider"}] * 51)
    assert too_many.value.error == "msg_blocks_too_many"
    check_blocks([{"type": "markdown", "text": "m" * 12_000}])
    with pytest.raises(ApiError):
        check_blocks(
            [{"type": "markdown", "text": "m" * 6000}] * 2 + [{"type": "markdown", "text": "m"}]
        )
    with pytest.raises(ApiError):
        check_blocks([{"type": "no_such_block"}])


def test_long_text_truncates_or_rejects() -> None:
    text, warnings = check_text("a" * 40_001, "truncate")
    assert len(text) == 40_000 and warnings == ["message_truncated"]
    assert check_text("a" * 40_000, "reject") == ("a" * 40_000, [])
    with pytest.raises(ApiError) as rejected:
        check_text("a" * 40_001, "reject")
    assert rejected.value.error == "msg_too_long"


def test_signature_matches_slack_sdk_verifier() -> None:
    body, content_type = encode("slash_commands", {"command": "/handinger", "text": "a&b"})
    assert content_type == "application/x-www-form-urlencoded"
    signature = sign("secret", "1700000000", body)
    verifier = SignatureVerifier("secret")
    assert signature == verifier.generate_signature(timestamp="1700000000", body=body)


def test_events_for_posts() -> None:
    clock, _ = make_clock()
    world = World(clock, "xapp")
    seed_default(world, "xoxb")

    def post(channel: str, user: str, text: str, thread_ts: str | None = None) -> Message:
        message = Message(world.new_ts(), channel, "T0001", user, text, rich_text(text))
        message.thread_ts = thread_ts
        world.add_message(message, "user")
        return message

    root = post("C0001", "U0001", "hello <@U0BOT>!")
    message, mention = events_for_post(world, root)
    assert (message["type"], message["channel_type"], mention["type"]) == (
        "message",
        "channel",
        "app_mention",
    )
    assert rich_text("hi <@U0BOT>")[0]["elements"][0]["elements"][1] == {
        "type": "user",
        "user_id": "U0BOT",
    }
    [reply] = events_for_post(world, post("C0001", "U0002", "more", root.ts))
    assert reply["thread_ts"] == root.ts and reply["parent_user_id"] == "U0001"
    [dm] = events_for_post(world, post("D0001", "U0001", "<@U0BOT> in a DM"))
    assert dm["channel_type"] == "im"
    assert events_for_post(world, post("C0002", "U0001", "<@U0BOT> not here")) == []
    [private] = events_for_post(world, post("G0001", "U0001", "secret"))
    assert private["channel_type"] == "group"


def test_redaction_reaches_nested_tokens() -> None:
    redacted = redact({"token": "xoxb-1", "nested": [{"x": "xapp-2"}], "text": "ok"})
    assert redacted == {"token": "[redacted]", "nested": [{"x": "[redacted]"}], "text": "ok"}


def test_flags_and_defaults() -> None:
    defaults = parse_args([])
    assert (defaults.bot_token, defaults.app_token, defaults.signing_secret) == (
        "xoxb-test",
        "xapp-test",
        "test-secret",
    )
    assert (defaults.request_url, defaults.rate_limits, defaults.port) == (None, "strict", 0)
    custom = parse_args(
        ["--request-url", "http://x/slack/events", "--rate-limits", "off", "--time-scale", "60"]
    )
    assert (custom.request_url, custom.rate_limits, custom.time_scale) == (
        "http://x/slack/events",
        "off",
        60.0,
    )
