"""End to end, HTTP mode: what the ingress answers at once is the app's answer, and a run
command acked with nothing still runs (the listeners get it on the app's loop afterwards)."""

from __future__ import annotations

from bot.config import Settings
from bot.core.service import Rules
from bot.slack.at_once import command_answer
from emulators.credentials import SIGNING_SECRET
from emulators.harness import free_port
from tests.e2e import Stack

SETTINGS = Settings(_env_file=None)  # the bot's defaults: max budget high


def test_http_mode_answers_in_the_ack_and_runs_after_it(idle_stack: Stack) -> None:
    stack = idle_stack
    port = free_port()
    stack.start_bot(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(port))
    url = f"http://127.0.0.1:{port}/slack/events"
    stack.slack.post("/_emulator/config", json={"request_url": url}).raise_for_status()
    for text in ("help", "--budget unlimited compare vendors", "unschedule", "--budget"):
        result = stack.slash(text)
        expected = command_answer(text, SETTINGS, Rules.of(SETTINGS))
        assert expected is not None and result["acked"], result
        answer = result["response"]
        assert (answer["response_type"], answer["text"]) == ("ephemeral", expected["text"])
        assert answer["blocks"] == expected["blocks"]
    run = stack.slash("summarise the incidents")
    assert (run["acked"], run["response"]) == (True, None), run
    stack.wait_final_card()
    assert [w["inputs"] for w in stack.workers()] == [["summarise the incidents"]]
    told = [(m["source"], m["text"]) for m in stack.ephemeral()]
    assert [source for source, _ in told] == ["ack"] * 4, told  # the acks, nothing more
    assert stack.bot is not None
    assert "Traceback" not in "\n".join(stack.bot.output), "\n".join(stack.bot.output[-60:])
