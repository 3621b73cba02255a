"""Telling a run's requester (or a schedule's creator) something only they see.

A reply goes through the command's `response_url` when there is one (it works even where the
app is not a member), else (or when that fails) as `chat.postEphemeral`.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError

from ..store import Run
from .blocks import SlackMessage
from .clients import TeamClients, webhook_client
from .replies import render_notice
from .transient import Sleep, calmly, code_of, is_transient

log = logging.getLogger(__name__)


class PrivateReplies:
    """`patience`: seconds of waiting through Slack's passing failures per reply."""

    def __init__(
        self, clients: TeamClients, *, patience: float, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.clients = clients
        self.patience = patience
        self._sleep = sleep

    async def tell(self, run: Run, text: str) -> None:
        """Tell the requester `text` (mrkdwn the app wrote, or already escaped). Never raises
        for Slack's refusal: there is nowhere else to say it."""
        message = render_notice(text, trusted=True)
        if run.response_url and await self._respond(run.response_url, message):
            return
        client = await self.clients.client_for(run.team_id)
        try:
            await calmly(
                lambda: client.chat_postEphemeral(
                    channel=run.channel_id,
                    user=run.user_id,
                    text=message.text,
                    blocks=message.blocks,
                ),
                "chat.postEphemeral",
                budget=self.patience,
                sleep=self._sleep,
            )
        except SlackApiError as error:
            log.info("cannot explain privately in %s: %s", run.channel_id, code_of(error))

    async def direct(self, team_id: str, user_id: str, text: str) -> None:
        """Tell `user_id` `text` (mrkdwn the app wrote, or already escaped) in their direct
        message with the app: for news that has no channel left to be said in. Never raises
        for Slack's refusal."""
        message = render_notice(text, trusted=True)
        client = await self.clients.client_for(team_id)
        try:
            await calmly(
                lambda: client.chat_postMessage(
                    channel=user_id, text=message.text, blocks=message.blocks
                ),
                "chat.postMessage",
                budget=self.patience,
                sleep=self._sleep,
            )
        except SlackApiError as error:
            log.info("cannot tell %s directly: %s", user_id, code_of(error))

    async def _respond(self, url: str, message: SlackMessage) -> bool:
        """Send an ephemeral reply to a `response_url`; False if Slack did not take it."""
        webhook = webhook_client(url)
        try:
            response = await webhook.send(
                text=message.text, blocks=message.blocks, response_type="ephemeral"
            )
        except Exception as error:
            if not is_transient(error):
                raise
            log.info("response_url failed (%r); sending the reply another way", error)
            return False
        if response.status_code != 200:
            log.info(
                "response_url answered %d; sending the reply another way", response.status_code
            )
            return False
        return True
