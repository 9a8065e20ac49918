"""How the operator shaped the list: its order (age, risk, deadline, graph), newest or oldest first, and whether
decided items are hidden. Pure data and functions, no Textual: the console applies it to the merged items.

Age (oldest pause first) is the order items arrive in, so the default costs nothing on 10,000 rows; the other
orders sort with the pause order as the tie-break, so equal items never swap places between refreshes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from hitl_tui.console.review_items import ReviewItem

ORDERS = ("age", "risk", "deadline", "graph")  # the order the sort key cycles through
RISK_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
LEVEL_RANK = {"overdue": 0, "urgent": 1, "half": 2, "ok": 3}

Escalate = Callable[[ReviewItem, datetime], Any]  # -> hitl_tui.policy.timeouts.Escalation | None


@dataclass(frozen=True)
class ListShape:
    """Order, direction and filter of the list, as chosen with keys."""

    order: str = "age"
    newest_first: bool = False
    hide_decided: bool = False

    def next_order(self) -> ListShape:
        return replace(self, order=ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)])

    def flipped(self) -> ListShape:
        return replace(self, newest_first=not self.newest_first)

    def toggled_decided(self) -> ListShape:
        return replace(self, hide_decided=not self.hide_decided)

    def describe(self) -> str:
        """For the status bar: "sort risk · newest first · decided hidden"."""
        parts = [f"sort {self.order}"]
        if self.newest_first:
            parts.append("newest first")
        if self.hide_decided:
            parts.append("decided hidden")
        return " · ".join(parts)

    def apply(self, items: Sequence[ReviewItem], now: datetime, escalate: Escalate | None = None) -> list[ReviewItem]:
        """The items as this shape shows them (`items` come oldest pause first)."""
        if self == DEFAULT:
            return list(items)  # the order they come in: nothing to do on every refresh of 10,000 rows
        shown = [it for it in items if not (self.hide_decided and is_decided(it))]
        if self.newest_first:
            shown.reverse()
        if self.order == "age":
            return shown
        position = {it.key: i for i, it in enumerate(shown)}  # age order as tie-break: a stable sort keeps it
        if self.order == "risk":
            shown.sort(key=lambda it: RISK_RANK.get((it.risk or "").lower(), len(RISK_RANK)))
        elif self.order == "graph":
            shown.sort(key=lambda it: (it.thread.graph_id is None, it.thread.graph_id or ""))
        elif self.order == "deadline":
            shown.sort(key=lambda it: _deadline_key(it, now, escalate, position[it.key]))
        return shown


DEFAULT = ListShape()


def is_decided(item: ReviewItem) -> bool:
    """Nothing left for a person to do here: a decision is recorded, or the item left the DB's pending set."""
    return item.record is not None or not item.pending


def _deadline_key(item: ReviewItem, now: datetime, escalate: Escalate | None, position: int) -> tuple[int, float, int]:
    """Most pressing first: overdue, urgent, half-way, then by time left; items without a deadline last."""
    pressure = escalate(item, now) if escalate is not None and item.pending and item.interrupt is not None else None
    if pressure is None:
        return (len(LEVEL_RANK), 0.0, position)
    return (LEVEL_RANK.get(pressure.level, len(LEVEL_RANK)), float(pressure.seconds_left), position)
