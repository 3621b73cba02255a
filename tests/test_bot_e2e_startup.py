"""End to end: a real-mode start of the bot process is quiet about things that are not wrong."""

from __future__ import annotations

from emulators.credentials import BOT_TOKEN
from tests.e2e import Stack


def test_a_real_mode_start_logs_no_bolt_token_warning(stack: Stack) -> None:
    """SLACK_BOT_TOKEN in the environment, as in production: Bolt must not warn that it is
    unused (the app hands Bolt a client that carries it), and the app still works with it."""
    assert stack.bot is not None and stack.bot.env["SLACK_BOT_TOKEN"] == BOT_TOKEN
    stack.slash("say hello")
    stack.wait_final_card()  # the emulator accepted the token on every call
    assert not [line for line in stack.bot.output if "will be unused" in line]
