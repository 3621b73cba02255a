"""The fixed default workspace, and the same layout for extra workspaces made at run time.

The default ids are part of the emulator's contract (tests, the sandbox and benchmarks use
them literally), so they are spelled out here rather than generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .state import Channel, User, Workspace, World

DEFAULT_TEAM = "T0001"
BOT_USER = "U0BOT"
BOT_ID = "B0001"


@dataclass
class WorkspaceSpec:
    """Optional overrides for `POST /_emulator/workspaces`."""

    id: str | None = None
    name: str | None = None
    domain: str | None = None
    bot_token: str | None = None
    installed: bool = True
    """False: the app is not installed there until an OAuth install (`oauth.v2.access`)."""


def seed_default(world: World, bot_token: str, scopes: tuple[str, ...] = ()) -> Workspace:
    """T0001 with U0001 (admin), U0002, the bot U0BOT/B0001, C0001, C0002, G0001 and D0001;
    the app is installed there with `scopes` (the manifest's: single-workspace mode)."""
    workspace = Workspace(
        DEFAULT_TEAM, "Emulator", "emulator", bot_token, BOT_USER, BOT_ID, bot_scopes=[*scopes]
    )
    _populate(
        world,
        workspace,
        users=("U0001", "U0002"),
        channels=("C0001", "C0002", "G0001", "D0001"),
        names=("general", "random", "private"),
    )
    return workspace


def add_workspace(
    world: World, spec: WorkspaceSpec, default_token: str, scopes: tuple[str, ...] = ()
) -> Workspace:
    """A new workspace with the default layout and fresh ids, for multi-workspace benchmarks;
    where the app is installed, it has `scopes`."""
    team = spec.id or world.new_id("T")
    if team in world.workspaces:
        raise ValueError(f"workspace {team} exists")
    index = len(world.workspaces) + 1
    bot_user = f"{BOT_USER}{index}"
    while world.id_taken(bot_user):
        index += 1
        bot_user = f"{BOT_USER}{index}"
    token = spec.bot_token or f"{default_token}-{team}"
    if token in world.bot_tokens or any(w.bot_token == token for w in world.workspaces.values()):
        raise ValueError("bot_token already in use")
    workspace = Workspace(
        team,
        spec.name or f"Emulator {team}",
        spec.domain or f"emulator-{team.lower()}",
        token,
        bot_user,
        world.new_id("B"),
        installed=spec.installed,
        bot_scopes=[*scopes] if spec.installed else [],
    )
    _populate(
        world,
        workspace,
        users=(world.new_id("U"), world.new_id("U")),
        channels=(world.new_id("C"), world.new_id("C"), world.new_id("G"), world.new_id("D")),
        names=("general", "random", "private"),
    )
    return workspace


def _populate(
    world: World,
    workspace: Workspace,
    users: tuple[str, str],
    channels: tuple[str, str, str, str],
    names: tuple[str, str, str],
) -> None:
    world.add_workspace(workspace)
    admin, member = users
    bot = workspace.bot_user_id
    team = workspace.id
    # Reserve every id before allocating the next one.
    world.add_user(User(admin, team, "alice", "Alice Admin", is_admin=True))
    world.add_user(User(member, team, "bob", "Bob Member"))
    world.add_user(User(bot, team, "handinger", "Handinger", is_bot=True, bot_id=workspace.bot_id))
    created = int(world.clock.wall())
    public, outside, private, dm = channels
    world.add_channel(
        Channel(public, team, names[0], "public", [admin, member, bot], created, admin)
    )
    world.add_channel(Channel(outside, team, names[1], "public", [admin, member], created, admin))
    world.add_channel(Channel(private, team, names[2], "private", [admin, bot], created, admin))
    world.add_channel(Channel(dm, team, dm, "im", [admin, bot], created, admin))


def describe_workspace(world: World, workspace: Workspace) -> dict[str, Any]:
    """What `POST /_emulator/workspaces` returns and `GET /_emulator/workspaces` lists."""
    team = workspace.id
    return {
        "id": team,
        "name": workspace.name,
        "domain": workspace.domain,
        "bot_token": workspace.bot_token,
        "bot_user_id": workspace.bot_user_id,
        "bot_id": workspace.bot_id,
        "app_id": "A0001",
        "installed": workspace.installed,
        "bot_scopes": list(workspace.bot_scopes),
        "users": [
            {"id": u.id, "name": u.name, "is_admin": u.is_admin, "is_bot": u.is_bot}
            for u in world.users.values()
            if u.team == team
        ],
        "channels": [
            {
                "id": c.id,
                "name": c.name,
                "type": c.kind,
                "members": list(c.members),
                "bot_is_member": workspace.bot_user_id in c.members,
            }
            for c in world.channels.values()
            if c.team == team
        ],
    }
