"""The shape of every Slack request the app acts on, checked before Bolt routes it.

Bolt trusts a request's shape: a body whose `event` is a string, whose `actions` list is empty
or whose slash command lacks a channel makes Bolt's routing or a listener raise (a 500 and a
traceback), and a mention whose `text` is an object would start a run on its repr. So each kind
of request is checked here, strictly typed, for the fields Bolt's routing and the app's
listeners read; anything else is turned away before Bolt sees it. Fields nobody reads may be
anything: Slack adds new ones all the time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .ask_view import ASK_MODAL
from .schedule_views import SCHEDULE_MODAL

Kind = Literal["event", "command", "interaction"]

EVENT_TYPES = frozenset(
    {
        "message",
        "app_mention",
        "app_uninstalled",
        "tokens_revoked",
        "assistant_thread_started",
        "assistant_thread_context_changed",
        "app_home_opened",
    }
)
"""The events the app subscribes to (manifest `bot_events`) and has listeners for."""
HUMAN_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
"""Message subtypes that are still a person writing: the ones the listeners act on."""
FOREIGN_KEYS: dict[Kind, frozenset[str]] = {
    "event": frozenset({"command", "actions", "view"}),
    "command": frozenset({"type", "event", "actions", "view", "payload"}),
    "interaction": frozenset({"command", "event"}),
}
"""Keys that would make Bolt route a request as another kind (e.g. an event carrying a
`command` reaches the slash command listener): a body of one kind must not have them."""


class Shape(BaseModel):
    """Strict types for the fields named; any other field is allowed and left alone."""

    model_config = ConfigDict(strict=True, extra="allow")


class Ref(Shape):
    """`{"id": …}`, the object form of a team, user, channel or enterprise."""

    id: str | None = None


Id = str | Ref | None


class Routed(Shape):
    """The fields Bolt reads to find a request's workspace, user and channel."""

    team: Id = None
    user: Id = None
    channel: Id = None
    enterprise: Id = None
    team_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    enterprise_id: str | None = None
    thread_ts: str | None = None
    is_ext_shared_channel: bool | None = None


class Authorization(Shape):
    team_id: str | None = None
    user_id: str | None = None
    enterprise_id: str | None = None
    is_bot: bool | None = None
    is_enterprise_install: bool | None = None


class Tokens(Shape):
    oauth: list[str] | None = None
    bot: list[str] | None = None


class AssistantContext(Shape):
    channel_id: str | None = None


class AssistantThread(Shape):
    """`assistant_thread` of the assistant pane's events: whose thread, where."""

    user_id: str
    channel_id: str
    thread_ts: str
    context: AssistantContext | None = None


class Event(Routed):
    """An event of a subscribed type; a person's message or mention has what a run needs."""

    type: str
    subtype: str | None = None
    ts: str | None = None
    text: str | None = None
    bot_id: str | None = None
    channel_type: str | None = None
    user_team: str | None = None
    message: Routed | None = None  # message_changed
    previous_message: Routed | None = None  # message_deleted
    tokens: Tokens | None = None  # tokens_revoked
    assistant_thread: AssistantThread | None = None  # assistant_thread_*
    tab: str | None = None  # app_home_opened

    @model_validator(mode="after")
    def _written_by_a_person(self) -> Event:
        if self.type.startswith("assistant_thread_") and self.assistant_thread is None:
            raise ValueError("an assistant thread event needs its assistant_thread")
        if self.type == "app_home_opened" and not isinstance(self.user, str):
            raise ValueError("app_home_opened needs the user's id")
        if self.type not in ("message", "app_mention") or self.bot_id:
            return self
        if self.subtype is not None and self.subtype not in HUMAN_SUBTYPES:
            return self
        if not isinstance(self.channel, str) or not self.ts:
            raise ValueError("a message needs its channel id and ts")
        if self.user is not None and not isinstance(self.user, str):
            raise ValueError("a message's user is an id")
        if self.text is None and "text" in self.model_fields_set:
            raise ValueError("a message's text is a string")
        return self


class EventCallback(Routed):
    type: Literal["event_callback"]
    event_id: str
    authorizations: list[Authorization] | None = None
    event: Event


class SlashCommand(Routed):
    command: str
    team_id: str
    channel_id: str
    user_id: str
    text: str
    trigger_id: str
    response_url: str | None = None


class Option(Shape):
    value: str


class Action(Shape):
    action_id: str
    block_id: str | None = None
    action_ts: str
    value: str | None = None
    selected_option: Option | None = None


class User(Ref):
    id: str
    team_id: str | None = None


class Container(Shape):
    """Where the clicked element is: a message (channel and ts) or a view."""

    type: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    view_id: str | None = None


class StateValue(Shape):
    value: str | None = None
    selected_option: Option | None = None


class ViewState(Shape):
    values: dict[str, dict[str, StateValue]] = Field(default_factory=dict)


class AskModalMeta(Shape):
    """What `ask_view.ask_modal` puts in `private_metadata`."""

    channel: str
    ts: str
    thread: str
    response_url: str


class ScheduleModalMeta(Shape):
    """What `schedule_views.schedule_modal` puts in `private_metadata`."""

    channel: str
    run: int | None = None


class View(Shape):
    id: str
    callback_id: str
    private_metadata: str = ""
    team_id: str | None = None
    app_installed_team_id: str | None = None
    state: ViewState = Field(default_factory=ViewState)

    @model_validator(mode="after")
    def _metadata(self) -> View:
        if self.callback_id == SCHEDULE_MODAL:
            try:
                ScheduleModalMeta.model_validate_json(self.private_metadata)
            except ValidationError:
                raise ValueError("the schedule modal's private_metadata is not its own") from None
        if self.callback_id == ASK_MODAL:
            try:
                AskModalMeta.model_validate_json(self.private_metadata)
            except ValidationError:
                raise ValueError("the ask modal's private_metadata is not its own") from None
        return self


class BlockActions(Routed):
    type: Literal["block_actions"]
    user: User
    trigger_id: str
    actions: list[Action] = Field(min_length=1)
    container: Container | None = None
    channel: Ref | None = None
    team: Ref | None = None
    message: Routed | None = None


class ViewSubmission(Routed):
    type: Literal["view_submission"]
    user: User
    trigger_id: str
    team: Ref | None = None
    view: View


class MessageAction(Routed):
    """A message shortcut (`Ask Handinger`) picked on a message."""

    type: Literal["message_action"]
    callback_id: str
    user: User
    trigger_id: str
    message_ts: str
    channel: Ref
    team: Ref | None = None
    message: Routed | None = None
    response_url: str | None = None


INTERACTIONS: dict[str, type[BlockActions] | type[ViewSubmission] | type[MessageAction]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "message_action": MessageAction,
}


class Unusable(Exception):
    """The request is not one the app can act on; `reason` says why, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check(kind: Kind, body: dict[str, Any]) -> str | None:
    """Check a parsed request of `kind`; raise `Unusable` if the listeners cannot act on it.

    Returns the key that makes a second delivery of the same command or click a replay; None
    for events, which `listeners.messages` claims by `event_id` and by message.
    """
    foreign = FOREIGN_KEYS[kind] & body.keys()
    if foreign:
        raise Unusable(f"{kind} with {', '.join(sorted(foreign))}")
    try:
        if kind == "event":
            envelope = EventCallback.model_validate(body)
            if envelope.event.type not in EVENT_TYPES:
                raise Unusable(f"unsubscribed event {envelope.event.type[:40]!r}")
            return None
        if kind == "command":
            return f"command:{SlashCommand.model_validate(body).trigger_id}"
        model = INTERACTIONS.get(str(body.get("type")))
        if model is None:
            raise Unusable("interaction of a type the app does not handle")
        interaction = model.model_validate(body)
    except ValidationError as error:
        raise Unusable(f"malformed {kind}: {_first_problem(error)}") from None
    if isinstance(interaction, BlockActions):
        return f"action:{interaction.trigger_id}:{interaction.actions[0].action_ts}"
    if isinstance(interaction, MessageAction):
        return f"shortcut:{interaction.trigger_id}"
    return f"view:{interaction.view.id}:{interaction.trigger_id}"


def _first_problem(error: ValidationError) -> str:
    """Where the first problem is, without the value (it is untrusted and may be huge)."""
    first = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"[:200]
