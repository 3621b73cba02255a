"""The budgets a Handinger turn can run on, shared by the API client and the store.

A module of its own at the bottom of the layers, so the store types its rows without importing
the Handinger client.
"""

from __future__ import annotations

from typing import Literal

Budget = Literal["low", "standard", "high", "unlimited"]
BUDGETS: tuple[Budget, ...] = ("low", "standard", "high", "unlimited")


def as_budget(value: str | None) -> Budget | None:
    """`value` as a budget the API knows, or None when it is none of them."""
    return next((budget for budget in BUDGETS if budget == value), None)
