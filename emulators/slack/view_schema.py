"""A view (modal or Home tab) as views.open / push / update / publish check it.

Slack answers `invalid_arguments` with one `[ERROR] …` line per problem in
`response_metadata.messages`, each pointing into `/view` (for example
`must be less than 25 characters [json-pointer:/view/submit/text]`).
"""

from __future__ import annotations

from typing import Any

from .blockkit import Problems, at, blocks_problems, text_object, too_long

MAX_VIEW_BLOCKS = 100
MAX_VIEW_TEXT = 24
"""A modal's title, submit and close texts."""
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_ID = 255


def view_problems(view: dict[str, Any], kind: str) -> Problems:
    """Everything wrong with `view`, a view of type `kind` (`modal` or `home`)."""
    if view.get("type") != kind:
        return [at(f"must be {kind}", "/view/type")]
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        return [at(f"must provide no more than {MAX_VIEW_BLOCKS} items", "/view/blocks")]
    problems: Problems = []
    if kind == "modal":
        problems += text_object(view.get("title"), "/view/title", MAX_VIEW_TEXT, plain=True)
        for button in ("submit", "close"):
            if view.get(button) is not None:
                problems += text_object(view[button], f"/view/{button}", MAX_VIEW_TEXT, plain=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            problems.append(at("submit is required when the view has input blocks", "/view"))
    for field, limit in (
        ("private_metadata", MAX_PRIVATE_METADATA),
        ("callback_id", MAX_VIEW_ID),
        ("external_id", MAX_VIEW_ID),
    ):
        value = view.get(field)
        if value is not None and len(str(value)) > limit:
            problems.append(too_long(f"/view/{field}", limit))
    return problems + blocks_problems(blocks, "/view/blocks")
