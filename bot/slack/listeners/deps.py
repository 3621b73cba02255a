"""What every listener may use, put into Bolt's `context` by one middleware: the front door
(`core.service.Service`), the settings, and in OAuth mode the installation store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from ...config import Settings
from ...core.service import Service
from ..home import HomePublisher

KEY = "handinger"

Gone = Callable[[str], Awaitable[object]]
"""Stops the app's work in a workspace that removed it."""


@dataclass(frozen=True, slots=True)
class Deps:
    service: Service
    settings: Settings
    installations: AsyncInstallationStore | None
    gone: Gone
    home: HomePublisher | None = None


def install(app: AsyncApp, deps: Deps) -> None:
    @app.middleware
    async def provide(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context[KEY] = deps
        await next()


def deps_of(context: AsyncBoltContext) -> Deps:
    deps = context[KEY]
    if not isinstance(deps, Deps):  # pragma: no cover - `install` always runs first
        raise TypeError("listeners need deps.install")
    return deps
