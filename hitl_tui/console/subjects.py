"""What every decision dialog says it is about: the thread, the action and its key arguments (amounts, recipients),
so a person never confirms "Reject transfer" without seeing WHICH transfer. Built from data as `Text` (agent text
goes through `safe`, never markup); no Textual here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from hitl_tui.console.review_items import ReviewItem
from hitl_tui.console.shown import one_line, safe
from hitl_tui.model import DecisionKind

KEY_ARGS = 4  # scalar arguments named in a dialog's header (the rest are in the details pane)
ARG_WIDTH = 32  # characters of one argument's value
BULK_LINES = 12  # marked items listed one by one before "... and N more"


def key_args(args: Any, limit: int = KEY_ARGS) -> str:
    """The first few scalar arguments as `name=value`, one line: what tells two actions of one kind apart."""
    if not isinstance(args, Mapping):
        return "" if args is None else one_line(args, ARG_WIDTH)
    scalars = [(k, v) for k, v in args.items() if v is None or isinstance(v, str | int | float | bool)]
    shown = [f"{one_line(k, 20)}={one_line(_value(v), ARG_WIDTH)}" for k, v in scalars[:limit]]
    rest = len(args) - len(shown)
    if rest > 0:
        shown.append(f"+{rest} more")
    return ", ".join(shown)


def _value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if value == "" or value != value.strip() else value
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def decision_subject(kind: DecisionKind | str, item: ReviewItem, action_index: int = 0) -> Text:
    """"Reject transfer on thread pay-7 (payments): amount=25000, to=ACME" -- a dialog's first line."""
    verb = kind.value if isinstance(kind, DecisionKind) else kind
    actions = item.actions
    action = actions[action_index] if 0 <= action_index < len(actions) else None
    line = Text(f"{verb.capitalize()} ")
    line.append_text(safe(action.name if action else item.action_label, limit=60))
    if len(actions) > 1:
        line.append(f" (action {action_index + 1} of {len(actions)})")
    line.append(" on thread ")
    line.append_text(safe(item.thread.thread_id, limit=60))
    line.append(" (")
    line.append_text(safe(item.thread.graph_id or "unknown graph", limit=40))
    line.append(")")
    args = key_args(action.args) if action else ""
    if args:
        line.append(": ")
        line.append_text(safe(args, limit=200))
    return line


def high_risk_items(items: Sequence[ReviewItem]) -> list[ReviewItem]:
    """The items a bulk confirmation must single out: high or critical risk, or a rule asking for confirmation."""
    return [it for it in items if it.needs_confirmation]


def bulk_lines(kind: DecisionKind, items: Sequence[ReviewItem]) -> tuple[Text, Text]:
    """Title and body of one confirmation for many items, naming each one and which of them are high risk."""
    risky = high_risk_items(items)
    title = Text(f"Confirm: {kind.value} {len(items)} marked item(s)")
    if risky:
        title.append(f", {len(risky)} of them high risk (marked !)")
    body = Text()
    for it in items[:BULK_LINES]:
        flag = "!" if it in risky else " "
        body.append(f"{flag} ")
        body.append_text(safe(it.thread.thread_id, limit=30))
        body.append("  ")
        body.append_text(safe(it.action_label, limit=30))
        if it.risk and it in risky:
            body.append("  ")
            body.append_text(safe(it.risk, limit=12))
        args = key_args(it.actions[0].args, limit=2) if it.actions else ""
        if args:
            body.append("  ")
            body.append_text(safe(args, limit=60))
        body.append("\n")
    if len(items) > BULK_LINES:
        body.append(f"... and {len(items) - BULK_LINES} more\n")
        hidden = [it for it in risky if it not in items[:BULK_LINES]]
        if hidden:
            body.append("High risk among them: ")
            body.append_text(safe(", ".join(it.thread.thread_id for it in hidden), limit=300))
            body.append("\n")
    return title, body
