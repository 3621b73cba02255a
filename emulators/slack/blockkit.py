"""Block Kit's schema, block by block and element by element, as Slack documents it.

Pure functions that return problems as Slack words them, each ending in a JSON pointer
(`must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]`); the callers
decide the error code (`invalid_blocks` for messages, `invalid_arguments` for views). Limits are
those of the Block Kit reference (docs.slack.dev/reference/block-kit): blocks, block elements,
composition objects (text, option, confirm).
"""

from __future__ import annotations

from typing import Any

MAX_ID = 255
MAX_TEXT_OBJECT = 3000
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150
MAX_ALT_TEXT = 2000
MAX_LABEL = 2000
MAX_INPUT_LENGTH = 3000
OVERFLOW_OPTIONS = (2, 5)
SELECT_OPTIONS = 100
CHOICE_OPTIONS = 10  # radio buttons and checkboxes
CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}

KNOWN_BLOCKS = {
    "actions",
    "context",
    "context_actions",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
    "plan",
    "task_card",
}
SELECTS = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
}
MULTI_SELECTS = {f"multi_{kind}" for kind in SELECTS}
INTERACTIVE = {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
    "rich_text_input",
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "file_input",
    *SELECTS,
    *MULTI_SELECTS,
}
ACCESSORIES = INTERACTIVE - {"plain_text_input", "email_text_input", "url_text_input"} | {"image"}
ACTIONS_ELEMENTS = INTERACTIVE - {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "file_input",
    "rich_text_input",
}
INPUT_ELEMENTS = INTERACTIVE - {"button", "overflow", "workflow_button"}

Problems = list[str]


def at(message: str, where: str) -> str:
    return f"{message} [json-pointer:{where}]"


def too_long(where: str, limit: int) -> str:
    return at(f"must be less than {limit + 1} characters", where)


# ---- composition objects ---------------------------------------------------------------------


def text_object(
    obj: Any, where: str, limit: int = MAX_TEXT_OBJECT, plain: bool = False
) -> Problems:
    """A `plain_text` or `mrkdwn` object: a non-empty string of at most `limit` characters."""
    allowed = {"plain_text"} if plain else {"plain_text", "mrkdwn"}
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        kind = "plain_text" if plain else "text"
        return [at(f"must be a valid {kind} object", where)]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [at("must be a non-empty string", f"{where}/text")]
    if len(text) > limit:
        return [too_long(f"{where}/text", limit)]
    return []


def _string(value: Any, where: str, limit: int, required: bool = False) -> Problems:
    if value is None:
        return [at("is required", where)] if required else []
    if not isinstance(value, str) or (required and not value):
        return [at("must be a non-empty string" if required else "must be a string", where)]
    return [too_long(where, limit)] if len(value) > limit else []


def _option(option: Any, where: str, urls: bool) -> Problems:
    if not isinstance(option, dict):
        return [at("must be an option object", where)]
    problems = text_object(option.get("text"), f"{where}/text", MAX_OPTION_TEXT)
    problems += _string(option.get("value"), f"{where}/value", MAX_OPTION_VALUE, required=True)
    if option.get("description") is not None:
        problems += text_object(
            option["description"], f"{where}/description", MAX_OPTION_TEXT, plain=True
        )
    if option.get("url") is not None:
        problems += (
            _string(option["url"], f"{where}/url", MAX_URL)
            if urls
            else [at("is only allowed in overflow menus", f"{where}/url")]
        )
    return problems


def _options(
    options: Any, where: str, low: int, high: int, urls: bool = False
) -> tuple[Problems, list[Any]]:
    if not isinstance(options, list) or not low <= len(options) <= high:
        return [at(f"must provide between {low} and {high} items", where)], []
    problems: Problems = []
    for i, option in enumerate(options):
        problems += _option(option, f"{where}/{i}", urls)
    return problems, options


def _confirm(confirm: Any, where: str) -> Problems:
    if confirm is None:
        return []
    if not isinstance(confirm, dict):
        return [at("must be a confirmation dialog object", where)]
    problems: Problems = []
    for field, limit in CONFIRM_LIMITS.items():
        plain = field != "text"
        problems += text_object(confirm.get(field), f"{where}/{field}", limit, plain=plain)
    return problems


# ---- elements --------------------------------------------------------------------------------


def element(obj: Any, where: str, allowed: set[str]) -> Problems:
    """One block element (button, menu, input, image...), if its type is allowed here."""
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [at("must be an element allowed in this block", f"{where}/type")]
    kind = obj["type"]
    if kind == "image":
        return image_element(obj, where)
    problems = _string(obj.get("action_id"), f"{where}/action_id", MAX_ID)
    problems += _confirm(obj.get("confirm"), f"{where}/confirm")
    if obj.get("placeholder") is not None:
        problems += text_object(obj["placeholder"], f"{where}/placeholder", MAX_PLACEHOLDER, True)
    if kind == "button":
        problems += text_object(obj.get("text"), f"{where}/text", MAX_BUTTON_TEXT, plain=True)
        problems += _string(obj.get("value"), f"{where}/value", MAX_BUTTON_VALUE)
        problems += _string(obj.get("url"), f"{where}/url", MAX_URL)
        if obj.get("style") not in (None, "primary", "danger"):
            problems.append(at("must be primary or danger", f"{where}/style"))
    elif kind == "overflow":
        low, high = OVERFLOW_OPTIONS
        problems += _options(obj.get("options"), f"{where}/options", low, high, urls=True)[0]
    elif kind in ("radio_buttons", "checkboxes"):
        problems += _choices(obj, where, CHOICE_OPTIONS, multi=kind == "checkboxes")
    elif kind in ("static_select", "multi_static_select"):
        problems += _choices(obj, where, SELECT_OPTIONS, multi=kind.startswith("multi_"))
    elif kind == "plain_text_input":
        problems += _text_input(obj, where)
    return problems


def _choices(obj: dict[str, Any], where: str, high: int, multi: bool) -> Problems:
    """Options (or option groups, for selects) and the initial choice, which must be one of
    them exactly."""
    groups = obj.get("option_groups")
    if groups is not None and obj["type"].endswith("select"):
        if not isinstance(groups, list) or not 1 <= len(groups) <= high:
            return [at(f"must provide between 1 and {high} items", f"{where}/option_groups")]
        problems: Problems = []
        options: list[Any] = []
        for i, group in enumerate(groups):
            found, listed = _options(
                group.get("options") if isinstance(group, dict) else None,
                f"{where}/option_groups/{i}/options",
                1,
                high,
            )
            problems += found
            options += listed
    else:
        problems, options = _options(obj.get("options"), f"{where}/options", 1, high)
    field = "initial_options" if multi else "initial_option"
    initial = obj.get(field)
    chosen = (initial if isinstance(initial, list) else [initial]) if initial is not None else []
    if any(choice not in options for choice in chosen):
        problems.append(at(f"{field} must exactly match one of the options", f"{where}/{field}"))
    return problems


def _text_input(obj: dict[str, Any], where: str) -> Problems:
    problems: Problems = []
    low, high = obj.get("min_length", 0), obj.get("max_length", MAX_INPUT_LENGTH)
    if not isinstance(low, int) or not 0 <= low <= MAX_INPUT_LENGTH:
        problems.append(at("must be between 0 and 3000", f"{where}/min_length"))
        low = 0
    if not isinstance(high, int) or not 1 <= high <= MAX_INPUT_LENGTH:
        problems.append(at("must be between 1 and 3000", f"{where}/max_length"))
        high = MAX_INPUT_LENGTH
    initial = obj.get("initial_value")
    if initial is not None:
        if not isinstance(initial, str):
            problems.append(at("must be a string", f"{where}/initial_value"))
        elif len(initial) > high:
            problems.append(too_long(f"{where}/initial_value", high))
    if low > high:
        problems.append(at("must not be more than max_length", f"{where}/min_length"))
    return problems


def image_element(obj: dict[str, Any], where: str) -> Problems:
    """An image (block or element): a URL or a Slack file, and always an `alt_text`."""
    problems: Problems = []
    if obj.get("image_url") is None and obj.get("slack_file") is None:
        problems.append(at("must provide image_url or slack_file", f"{where}/image_url"))
    problems += _string(obj.get("image_url"), f"{where}/image_url", MAX_URL)
    problems += _string(obj.get("alt_text"), f"{where}/alt_text", MAX_ALT_TEXT, required=True)
    return problems


# ---- blocks ----------------------------------------------------------------------------------


def blocks_problems(blocks: list[Any], where: str) -> Problems:
    """Every block's own problems, plus `block_id`s that are not unique."""
    problems: Problems = []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        here = f"{where}/{index}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            problems.append(at("unknown or missing block type", f"{here}/type"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            problems += _string(block_id, f"{here}/block_id", MAX_ID)
            if block_id in seen:
                problems.append(at(f"duplicate block_id {block_id!r}", f"{here}/block_id"))
            seen.add(str(block_id))
        problems += one_block(block, here)
    return problems


def one_block(obj: dict[str, Any], where: str) -> Problems:
    kind = obj["type"]
    if kind == "section":
        return _section(obj, where)
    if kind == "header":
        return text_object(obj.get("text"), f"{where}/text", MAX_HEADER_TEXT, plain=True)
    if kind == "markdown":
        text = obj.get("text")
        return [] if isinstance(text, str) else [at("must provide a string", f"{where}/text")]
    if kind == "context":
        return _context(obj, where)
    if kind == "actions":
        return _actions(obj, where)
    if kind == "image":
        problems = image_element(obj, where)
        if obj.get("title") is not None:
            problems += text_object(obj["title"], f"{where}/title", MAX_ALT_TEXT, plain=True)
        return problems
    if kind == "input":
        return _input(obj, where)
    return []


def _section(obj: dict[str, Any], where: str) -> Problems:
    problems: Problems = []
    text, fields = obj.get("text"), obj.get("fields")
    if text is None and not fields:
        problems.append(at("must provide text or fields", where))
    if text is not None:
        problems += text_object(text, f"{where}/text", MAX_SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
            problems.append(at("must provide no more than 10 items", f"{where}/fields"))
        else:
            for i, item in enumerate(fields):
                problems += text_object(item, f"{where}/fields/{i}", MAX_FIELD_TEXT)
    if obj.get("accessory") is not None:
        problems += element(obj["accessory"], f"{where}/accessory", ACCESSORIES)
    return problems


def _elements(obj: dict[str, Any], where: str, limit: int) -> tuple[Problems, list[Any]]:
    elements = obj.get("elements")
    if not isinstance(elements, list) or not elements:
        return [at("must provide at least one element", f"{where}/elements")], []
    if len(elements) > limit:
        return [at(f"must provide no more than {limit} items", f"{where}/elements")], []
    return [], elements


def _context(obj: dict[str, Any], where: str) -> Problems:
    """Only images and text objects, at most 10."""
    problems, elements = _elements(obj, where, MAX_CONTEXT_ELEMENTS)
    for i, item in enumerate(elements):
        here = f"{where}/elements/{i}"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "image":
            problems += image_element(item, here)
        elif kind in ("plain_text", "mrkdwn"):
            problems += text_object(item, here)
        else:
            problems.append(at("must be an image element or a text object", f"{here}/type"))
    return problems


def _actions(obj: dict[str, Any], where: str) -> Problems:
    """Interactive elements only, at most 25, each `action_id` unique in the block."""
    problems, elements = _elements(obj, where, MAX_ACTIONS_ELEMENTS)
    seen: set[str] = set()
    for i, item in enumerate(elements):
        here = f"{where}/elements/{i}"
        problems += element(item, here, ACTIONS_ELEMENTS)
        action_id = item.get("action_id") if isinstance(item, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                problems.append(at(f"duplicate action_id {action_id!r}", f"{here}/action_id"))
            seen.add(action_id)
    return problems


def _input(obj: dict[str, Any], where: str) -> Problems:
    problems = text_object(obj.get("label"), f"{where}/label", MAX_LABEL, plain=True)
    if obj.get("hint") is not None:
        problems += text_object(obj["hint"], f"{where}/hint", MAX_LABEL, plain=True)
    if obj.get("element") is None:
        return [*problems, at("is required", f"{where}/element")]
    return problems + element(obj["element"], f"{where}/element", INPUT_ELEMENTS)
