"""Which Slack OAuth scopes the app needs, derived from the Web API methods its code calls.

`SCOPES_BY_METHOD` says which bot scopes each Web API method needs; `EVENT_SCOPES` does the same
for the events the app subscribes to. `called_methods()` reads the app's own source (everything
under `bot/`) and finds the Web API calls made on Slack clients, so `required_scopes()` always
reflects the code: adding a call to a method that is in the table only needs the manifest
updated (a test compares the two), and a call to a method that is not in the table fails that
test until someone looks the scope up.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

SCOPES_BY_METHOD: Mapping[str, frozenset[str]] = {
    # posting and editing messages (card, progress edits, thread replies, help, notices)
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "chat.getPermalink": frozenset(),
    "chat.startStream": frozenset({"chat:write"}),
    "chat.appendStream": frozenset({"chat:write"}),
    "chat.stopStream": frozenset({"chat:write"}),
    "assistant.threads.setStatus": frozenset({"chat:write"}),
    # the assistant pane: suggested prompts and a thread's title
    "assistant.threads.setSuggestedPrompts": frozenset({"assistant:write"}),
    "assistant.threads.setTitle": frozenset({"assistant:write"}),
    # queued / running / done marks on the user's message
    "reactions.add": frozenset({"reactions:write"}),
    "reactions.remove": frozenset({"reactions:write"}),
    # joining a public channel the app was asked to answer in (`not_in_channel`)
    "conversations.join": frozenset({"channels:join"}),
    # conversations of every type the app works in: public, private, DM, group DM
    "conversations.info": frozenset({"channels:read", "groups:read", "im:read", "mpim:read"}),
    "conversations.replies": frozenset(
        {"channels:history", "groups:history", "im:history", "mpim:history"}
    ),
    "conversations.history": frozenset(
        {"channels:history", "groups:history", "im:history", "mpim:history"}
    ),
    "conversations.open": frozenset({"im:write"}),
    # worker files and over-long answers (`files_upload_v2` calls both)
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
    # display names of a thread's authors (context for the agent)
    "users.info": frozenset({"users:read"}),
    # attached files: their description, and reading `url_private` with the same token
    "files.info": frozenset({"files:read"}),
    # modals and App Home need no scope of their own
    "views.open": frozenset(),
    "views.push": frozenset(),
    "views.update": frozenset(),
    "views.publish": frozenset(),
    # token checks (Bolt and `doctor`)
    "auth.test": frozenset(),
}
"""Bot scopes each Web API method needs. An empty set: the method needs none."""

APP_LEVEL_SCOPES: Mapping[str, frozenset[str]] = {
    "apps.connections.open": frozenset({"connections:write"}),
}
"""Methods called with the app-level token (`xapp-…`); their scopes are not bot scopes and are
granted when the token is created (Basic Information → App-Level Tokens), not in the manifest."""

EVENT_SCOPES: Mapping[str, frozenset[str]] = {
    "app_mention": frozenset({"app_mentions:read"}),
    "message.channels": frozenset({"channels:history"}),
    "message.groups": frozenset({"groups:history"}),
    "message.im": frozenset({"im:history"}),
    "message.mpim": frozenset({"mpim:history"}),
    "app_home_opened": frozenset(),
    "assistant_thread_started": frozenset({"assistant:write"}),
    "assistant_thread_context_changed": frozenset({"assistant:write"}),
    "app_uninstalled": frozenset(),
    "tokens_revoked": frozenset(),
}
"""Bot scopes each event subscription needs."""

BOT_EVENTS: tuple[str, ...] = (
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",
    "assistant_thread_started",
    "assistant_thread_context_changed",
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
)
"""The bot events the app subscribes to: what its `message` and `app_mention` listeners get,
the assistant pane's and the App Home's (`listeners/agent`), and the two that say a workspace
removed the app (no scope needed; see `listeners/lifecycle`)."""

FEATURE_SCOPES: Mapping[str, frozenset[str]] = {
    "slash_commands": frozenset({"commands"}),
    "shortcuts": frozenset({"commands"}),
}
"""Scopes that come with a manifest feature rather than a method: `/handinger` and the "Ask
Handinger" message shortcut need `commands`."""

IMPLICIT_METHODS: tuple[str, ...] = ("auth.test", "apps.connections.open")
"""Called by the libraries rather than by our code: Bolt's `auth.test` on the first request and
the Socket Mode handler's `apps.connections.open`. Neither needs a bot scope."""

PACKAGE_DIR = Path(__file__).resolve().parent.parent
_API_CALL = re.compile(r"""api_call\(\s*["']([\w.]+)["']""")
_SELF_CALL = re.compile(r"self\.(\w+)\(")


class UnknownMethodError(LookupError):
    """The code calls a Web API method that `SCOPES_BY_METHOD` does not know."""


@functools.cache
def sdk_methods(name: str) -> tuple[str, ...]:
    """The Web API methods a `slack_sdk` client method calls, e.g. `files_upload_v2` →
    (`files.getUploadURLExternal`, `files.completeUploadExternal`); () if it is no API call."""
    return tuple(sorted(_sdk_methods(name, set())))


def _sdk_methods(name: str, seen: set[str]) -> set[str]:
    if name in seen or name in ("api_call", "__init__"):
        return set()
    seen.add(name)
    function = getattr(AsyncWebClient, name, None)
    if function is None or not callable(function):
        return set()
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return set()
    found = set(_API_CALL.findall(source))
    for callee in _SELF_CALL.findall(source):
        found |= _sdk_methods(callee, seen)
    return found


def _string_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    for keyword in call.keywords:
        if keyword.arg == "api_method" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


def methods_in_source(source: str) -> list[str]:
    """The Web API methods one Python module calls on Slack clients.

    Recognises `<anything>.<sdk method>(…)` for every method of `AsyncWebClient`/`WebClient`
    (`client.chat_postMessage(`, `self.client.files_upload_v2(`, …), `.api_call("x.y")`, and
    Bolt's `say(…)` (which is `chat.postMessage`). A dynamic `api_call(name)` is reported as
    `api_call(?)` so that it cannot slip past the check.
    """
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "say":
            found.append("chat.postMessage")
        if not isinstance(func, ast.Attribute):
            continue
        if func.attr == "api_call":
            found.append(_string_arg(node) or "api_call(?)")
        elif func.attr == "say":
            found.append("chat.postMessage")
        else:
            found.extend(sdk_methods(func.attr))
    return found


def called_methods(root: Path = PACKAGE_DIR) -> dict[str, list[str]]:
    """Every Web API method the app's code under `root` calls → the modules that call it
    (`bot/slack/publisher.py`, …)."""
    return dict(_called_methods(root.resolve()))


@functools.cache
def _called_methods(root: Path) -> tuple[tuple[str, list[str]], ...]:
    where: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        module = str(Path(root.name, path.relative_to(root)))
        for method in methods_in_source(path.read_text(encoding="utf-8")):
            modules = where.setdefault(method, [])
            if module not in modules:
                modules.append(module)
    return tuple(sorted(where.items()))


def scopes_for(methods: Iterable[str]) -> frozenset[str]:
    """The bot scopes these methods need; `UnknownMethodError` names any not in the table."""
    methods = list(methods)
    unknown = sorted(m for m in methods if m not in SCOPES_BY_METHOD and m not in APP_LEVEL_SCOPES)
    if unknown:
        raise UnknownMethodError(
            "no scope entry for " + ", ".join(unknown) + ": add it to SCOPES_BY_METHOD"
        )
    scopes: set[str] = set()
    for method in methods:
        scopes |= SCOPES_BY_METHOD.get(method, frozenset())
    return frozenset(scopes)


def required_scopes(methods: Iterable[str] | None = None) -> tuple[str, ...]:
    """The bot scopes the app needs, sorted: its Web API calls, its event subscriptions and its
    slash command. `methods` defaults to what the code calls (`called_methods()`)."""
    if methods is None:
        methods = [*called_methods(), *IMPLICIT_METHODS]
    scopes = set(scopes_for(methods))
    for event in BOT_EVENTS:
        scopes |= EVENT_SCOPES[event]
    for feature_scopes in FEATURE_SCOPES.values():
        scopes |= feature_scopes
    return tuple(sorted(scopes))
