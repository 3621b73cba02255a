"""Bolt's `respond()` made to retry: listeners answer through a command's `response_url`, and
Bolt's own client retries a dropped connection once and takes a 5xx as an answer, silently.

`install` adds a middleware that gives every listener this `respond` instead: it goes through
`clients.webhook_client` (two quick retries on a 5xx or a dropped connection, and retries
after a 429's `Retry-After`) and logs a reply
Slack still refused, so it is never lost without a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.webhook import WebhookResponse

from .clients import webhook_client

log = logging.getLogger(__name__)


class RetryingRespond(AsyncRespond):
    """`respond(text=…, blocks=…, response_type=…, …)` through a retrying webhook client."""

    async def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        text = args[0] if args else kwargs.pop("text", "")
        webhook = webhook_client(self.response_url)
        if isinstance(text, dict):
            response = await webhook.send_dict(text)
        else:
            response = await webhook.send(text=text, **kwargs)
        if response.status_code != 200:
            log.warning("Slack refused a reply to a response_url (%d)", response.status_code)
        return response


def install(app: AsyncApp) -> None:
    """Give every listener of `app` a retrying `respond`."""

    @app.middleware
    async def retrying_respond(
        context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        if context.response_url:
            context["respond"] = RetryingRespond(response_url=context.response_url)
        await next()
