"""The details of the selected item: its action(s), arguments as highlighted JSON, the agent's reasoning,
confidence, risk, recent messages, what may be decided, the checkpoint a decision acts on, and what happened.

Every piece of agent text goes through `shown` (Text / JSON built from data); labels are ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from hitl_tui.clock import age_text
from hitl_tui.console.review_items import ReviewItem
from hitl_tui.console.shown import deadline_text, json_view, message_lines, safe
from hitl_tui.decisions.decision import Decision, DecisionState
from hitl_tui.model import DecisionKind

_ORDER = [DecisionKind.APPROVE, DecisionKind.REJECT, DecisionKind.EDIT, DecisionKind.FEEDBACK, DecisionKind.IGNORE]


class DetailsPane(VerticalScroll):
    """Scrollable details of one item; the screen calls `show` whenever the item or its state changes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "details--title", "details--label", "details--good", "details--warn", "details--bad", "details--dim",
        "details--current",
    }

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="details-body")
        # Recent messages come a moment later (read for the thread on screen): a widget of their own, so their
        # arrival does not render the highlighted JSON above again.
        context = Static(id="details-context")
        context.display = False
        yield context

    def show(
        self,
        item: ReviewItem | None,
        *,
        action_index: int = 0,
        staged: Mapping[int, Decision] | None = None,
        note: str | None = None,
        now: datetime,
        readonly: bool = False,
        empty_text: str = "Nothing is waiting for a decision.",
        pressure: Any = None,
    ) -> None:
        """`pressure`: the item's deadline escalation (hitl_tui.policy.timeouts.Escalation), if it has one."""
        body = self.query_one("#details-body", Static)
        if item is None:
            body.update(Text(empty_text, style=self._style("details--dim")))
            return
        body.update(Group(*self._parts(item, action_index, staged or {}, note, now, readonly, pressure)))

    def show_context(self, context: tuple[Any, ...] | str | None) -> None:
        """The shown thread's recent messages, the sentence saying why they can't be read, or None (none yet)."""
        pane = self.query_one("#details-context", Static)
        pane.display = bool(context)
        if not context:
            return
        parts: list[RenderableType] = [Text(""), self._label("Recent messages")]
        if isinstance(context, str):
            parts.append(safe(f"can't be read: {context}", style=self._style("details--dim")))
        else:
            parts.extend(message_lines(context))
        pane.update(Group(*parts))

    # -- building blocks ---------------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _label(self, text: str) -> Text:
        return Text(text, style=self._style("details--label"))

    def _field(self, label: str, value: Text | str) -> Text:
        line = self._label(f"{label}: ")
        line.append_text(value if isinstance(value, Text) else Text(value))
        return line

    def _parts(
        self, item: ReviewItem, index: int, staged: Mapping[int, Decision], note: str | None, now: datetime,
        readonly: bool, pressure: Any,
    ) -> list[RenderableType]:
        thread, interrupt = item.thread, item.interrupt
        parts: list[RenderableType] = []
        if interrupt is None:
            parts.append(Text("This thread could not be read", style=self._style("details--bad")))
            parts.append(self._field("Thread", safe(thread.thread_id)))
            parts.append(self._field("Why", safe(thread.error or "unknown", keep_newlines=True)))
            return parts
        actions = interrupt.actions
        index = max(0, min(index, len(actions) - 1)) if actions else 0
        action = actions[index] if actions else None

        title = safe(action.name if action else interrupt.node, limit=200, style=self._style("details--title"))
        if len(actions) > 1:
            title.append(f"   action {index + 1} of {len(actions)}", style=self._style("details--dim"))
        parts.append(title)
        if len(actions) > 1:
            parts.append(self._action_strip(item, index, staged))

        ids = self._label("Thread ")
        ids.append_text(safe(thread.thread_id, limit=120))
        ids.append_text(self._label("  graph "))
        ids.append_text(safe(thread.graph_id or "-", limit=80))
        ids.append_text(self._label("  node "))
        ids.append_text(safe(interrupt.node, limit=80))
        parts.append(ids)
        cp = self._label("Checkpoint ")
        cp.append_text(safe(thread.checkpoint_id, limit=80))
        cp.append_text(self._label("  paused "))
        cp.append(f"{age_text(thread.paused_at, now)} ago" if thread.paused_at else "?")
        cp.append_text(self._label("  shape "))
        cp.append(interrupt.shape.value)
        parts.append(cp)

        risk = self._label("Risk: ")
        risk.append_text(safe(item.risk or "not given", limit=40,
                              style=self._style("details--bad") if item.high_risk else ""))
        if item.assessment is not None and interrupt.risk and item.assessment.declared_risk != item.risk:
            risk.append_text(self._label(" (agent said "))
            risk.append_text(safe(interrupt.risk, limit=40))
            risk.append_text(self._label(")"))
        risk.append_text(self._label("   Confidence: "))
        risk.append("not given" if interrupt.confidence is None else f"{interrupt.confidence:.2f}")
        parts.append(risk)
        policy = self._policy(item, pressure, now)
        if policy is not None:
            parts.append(policy)

        parts.append(self._allowed(item, index, readonly))
        parts.append(self._status(item, note))

        if action is not None:
            parts.append(Text(""))
            parts.append(self._label("Arguments"))
            parts.append(json_view(action.args))
            if action.description:
                parts.append(Text(""))
                parts.append(self._label("Description"))
                parts.append(safe(action.description, keep_newlines=True))
        if interrupt.reasoning:
            parts.append(Text(""))
            parts.append(self._label("Reasoning"))
            parts.append(safe(interrupt.reasoning, keep_newlines=True))
        return parts

    def _policy(self, item: ReviewItem, pressure: Any, now: datetime) -> Text | None:
        """What the policy asks: confirmation, several approvers, a deadline (and how close it is)."""
        pieces: list[tuple[str, str]] = []
        if item.needs_confirmation:
            pieces.append(("approving asks for confirmation", ""))
        if item.approvals_needed > 1:
            pieces.append((f"needs {item.approvals_needed} approvals from different operators", "details--warn"))
        if pressure is not None:
            when = pressure.deadline_at.strftime("%H:%M:%S UTC")
            if pressure.level == "overdue":
                pieces.append((f"deadline {when} ({deadline_text(pressure.deadline_at, now)}): a worker rejects it "
                               "as timed out", "details--bad"))
            else:
                style = {"urgent": "details--bad", "half": "details--warn"}.get(pressure.level, "")
                pieces.append((f"deadline {when} ({deadline_text(pressure.deadline_at, now)}; then rejected)", style))
        if not pieces:
            return None
        line = self._label("Policy: ")
        for i, (text, style) in enumerate(pieces):
            if i:
                line.append(" · ")
            line.append(text, style=self._style(style) if style else "")
        return line

    def _action_strip(self, item: ReviewItem, index: int, staged: Mapping[int, Decision]) -> Text:
        line = self._label("Actions: ")
        for i, a in enumerate(item.actions):
            chosen = staged.get(i)
            mark = chosen.kind.value if chosen else "undecided"
            piece = Text(f" {i + 1}. ")
            piece.append_text(safe(a.name, limit=30))
            piece.append(f" [{mark}] ")
            if i == index:
                piece.stylize(self._style("details--current"))
            elif chosen:
                piece.stylize(self._style("details--good"))
            line.append_text(piece)
        # The key as bound now (a remap shows); the console app names it, a bare test app doesn't.
        key_label = getattr(self.app, "key_label", None)
        next_key = key_label("next_action") if key_label is not None else "tab"
        line.append(f"  ({next_key}: next action; each action is decided on its own, the pause is answered "
                    "when all are decided)", style=self._style("details--dim"))
        return line

    def _allowed(self, item: ReviewItem, index: int, readonly: bool) -> Text:
        line = self._label("Allowed: ")
        if readonly:
            line.append("read-only console: observing only", style=self._style("details--dim"))
            return line
        allowed = item.allowed(index)
        line.append(", ".join(k.value for k in _ORDER if k in allowed) or "nothing")
        return line

    def _status(self, item: ReviewItem, note: str | None) -> Text:
        line = self._label("Status: ")
        record, shared = item.record, item.shared
        if record is not None:
            when = record.decided_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            style = "details--bad" if record.error else "details--good"
            decided = shared.decided_by() + ("" if record.state is DecisionState.DECIDED else f"; {item.status}")
            line.append_text(safe(f"{decided} at {when}", limit=300, style=self._style(style)))
            if record.approvals_needed > 1:
                line.append(f" ({record.approvals} of {record.approvals_needed} approvals)")
            if shared.reason:
                line.append("\n")
                line.append_text(self._label("Reason: "))
                line.append_text(safe(shared.reason, keep_newlines=True, limit=1000))
            if record.acknowledged_by:
                line.append_text(safe(f"; its side effects were checked by {record.acknowledged_by}", limit=200))
            elif record.state is DecisionState.IN_DOUBT:
                line.append("; check what the agent did, then acknowledge it")
            if record.error:
                line.append("\n")
                line.append_text(self._label("Error: "))
                line.append_text(safe(record.error, keep_newlines=True, style=self._style("details--bad")))
        elif item.voters and not item.local:
            line.append_text(safe(f"{item.status} by {shared.who()}", limit=300,
                                  style=self._style("details--warn")))
            line.append(f" ({len(item.voters)} of {item.approvals_needed} approvals; a different operator must "
                        "approve too)")
        else:
            line.append_text(safe(item.status, limit=200))
        if note:
            line.append("\n")
            line.append_text(safe(note, keep_newlines=True, style=self._style("details--warn")))
        return line
