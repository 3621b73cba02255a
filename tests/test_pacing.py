"""Per-channel pacing of posts, with an injected clock."""

from __future__ import annotations

from bot.slack.pacing import ChannelPacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_per_second_in_arrival_order() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=1.0, burst=3.0, clock=clock)
    delays = [pacer.reserve("T1", "C1") for _ in range(6)]
    assert delays == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
    assert pacer.reserve("T1", "C2") == 0.0  # other channels are independent
    assert pacer.reserve("T2", "C1") == 0.0  # and other workspaces


def test_waiting_refills_the_bucket() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=1.0, burst=3.0, clock=clock)
    for _ in range(3):
        pacer.reserve("T1", "C1")
    clock.now = 10.0
    assert [pacer.reserve("T1", "C1") for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


def test_a_429_pushes_later_posts_back() -> None:
    clock = Clock()
    pacer = ChannelPacer(per_second=1.0, burst=3.0, clock=clock)
    assert pacer.reserve("T1", "C1") == 0.0
    pacer.penalize("T1", "C1", 5.0)
    assert pacer.reserve("T1", "C1") == 6.0


class SlackBucket:
    """Slack's per-channel limit for posts as it applies it, on arrival: 3, then one a second."""

    def __init__(self) -> None:
        self.tokens = 3.0
        self.at = 0.0

    def take(self, at: float) -> bool:
        self.tokens = min(3.0, self.tokens + (at - self.at))
        self.at = at
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def test_posts_held_up_on_the_way_by_different_amounts_still_fit_slacks_limit() -> None:
    """Ten cards for one channel at once; the first five reach Slack half a second late (the
    event loop was busy), the rest on time. None may be refused."""
    pacer = ChannelPacer(clock=Clock())  # the app's own settings
    sent = [pacer.reserve("T1", "C1") for _ in range(10)]
    arrived = sorted(at + (0.5 if index < 5 else 0.0) for index, at in enumerate(sent))
    slack = SlackBucket()
    assert [slack.take(at) for at in arrived] == [True] * 10, list(zip(sent, arrived, strict=True))
