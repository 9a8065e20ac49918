"""The main screen: the queue (queue.py) plus deciding: decision keys, marks, their dialogs, what the desk said.

Decisions and acknowledgements go up to the app as messages (`ConsoleScreen.DecisionSubmitted`, ...), which hands
them to its decision thread; what that thread says comes back down as `apply_outcome` / `apply_acknowledged`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.message import Message

from hitl_tui.console.review_items import ReviewItem
from hitl_tui.console.shown import safe
from hitl_tui.console.subjects import bulk_lines, decision_subject
from hitl_tui.decisions.decision import Decision, DecisionState, as_decided
from hitl_tui.decisions.resume_values import edit_problem
from hitl_tui.decisions.state import Voter
from hitl_tui.model import DecisionKind, PayloadShape, PendingInterrupt, PendingThread
from hitl_tui.policy.rules import EXECUTES
from hitl_tui.safe_text import visible
from hitl_tui.ui.keys import console_bindings
from hitl_tui.ui.screens.queue import QueueScreen, decidable

# What a key does to every marked item at once (edit and feedback are one item's business).
MARKED_KINDS = frozenset({DecisionKind.APPROVE, DecisionKind.REJECT, DecisionKind.IGNORE})


class ConsoleScreen(QueueScreen):
    """The queue, with the keys that decide on it."""

    BINDINGS: ClassVar[list[BindingType]] = [*console_bindings()]

    class DecisionSubmitted(Message):
        """Decisions on one item, for the app's decision thread (the desk compares-and-sets and resumes)."""

        def __init__(self, key: str, thread: PendingThread, interrupt: PendingInterrupt,
                     decisions: Sequence[Decision]) -> None:
            super().__init__()
            self.key = key
            self.thread = thread
            self.interrupt = interrupt
            self.decisions = tuple(decisions)

    class AcknowledgeRequested(Message):
        """The operator checked an in-doubt resume's side effects and says so."""

        def __init__(self, key: str, decision_id: str) -> None:
            super().__init__()
            self.key = key
            self.decision_id = decision_id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mark":
            return False if self.readonly else (True if decidable(self.selected) else None)
        if action == "acknowledge":
            record = self.selected.record if self.selected is not None else None
            in_doubt = record is not None and record.state is DecisionState.IN_DOUBT and not record.acknowledged_by
            return False if self.readonly else (True if in_doubt else None)
        if action == "decide":
            if self.readonly:
                return False  # observer mode: no decision keys at all
            item = self.selected
            kind = DecisionKind(str(parameters[0])) if parameters else None
            if kind in MARKED_KINDS and self._marked_items():
                return True  # acts on the marked items
            if item is None or kind is None or (item.local or "").startswith("submitting"):
                return None
            if kind is DecisionKind.APPROVE and self._approved_by_me(item):
                return None  # a second approval must come from another operator
            return True if kind in item.allowed(self._index_of(item)) else None
        if action == "next_action":
            item = self.selected
            return item is not None and len(item.actions) > 1
        return True

    # -- deciding ----------------------------------------------------------------------------------------------

    def action_mark(self) -> None:
        """Mark (or unmark) the selected item and move on, so a run of items is marked key by key."""
        item = self.selected
        if self.readonly or not decidable(item):
            return
        assert item is not None
        self.thread_list.toggle_mark(item.key)
        self.thread_list.action_cursor_down()
        self._refresh()

    def action_acknowledge(self) -> None:
        """After checking the agent's side effects, say so: the in-doubt decision stops blocking its thread."""
        item = self.selected
        if self.readonly or item is None or self.check_action("acknowledge", ()) is not True:
            return
        record = item.record
        assert record is not None
        from hitl_tui.ui.dialogs.confirm import ConfirmDialog

        title = Text("Acknowledge the in-doubt resume of ")
        title.append_text(safe(item.thread.thread_id, limit=60))
        body = Text("Its resumer died while the agent may have been running")
        if record.error:
            body.append(": ")
            body.append_text(safe(record.error, limit=300))
        body.append(".\nAcknowledge only after checking what the agent did (sent, paid, deleted...). The audit log "
                    "records that you did; the thread can then be decided again.")

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.book.set_local(item.key, "acknowledging…")
                self._refresh()
                self.post_message(self.AcknowledgeRequested(item.key, record.decision_id))

        self.app.push_screen(ConfirmDialog(title, body), confirmed)

    def apply_acknowledged(self, key: str, *, record: Any = None, error: str | None = None) -> None:
        """What the decision thread said about an acknowledgement."""
        self.book.set_local(key, None)
        if error is not None:
            self.app.notify(visible(error), title="Not acknowledged", severity="error", markup=False)
        elif record is not None:
            merged = {(r.thread_id, r.checkpoint_id, r.interrupt_key): r for r in self.book.records()}
            merged[(record.thread_id, record.checkpoint_id, record.interrupt_key)] = record
            self.book.set_records(merged.values())
            self.app.notify("Acknowledged: the thread can be decided again.", markup=False)
        self._refresh()

    def _marked_items(self) -> list[ReviewItem]:
        """The marked items that can still be decided (marks on anything else are dropped)."""
        # Checked on every refresh (which keys apply): with no marks, don't walk tens of thousands of rows.
        thread_list = self.thread_list
        marked = thread_list.marked
        if not marked:
            return []
        items = [it for it in thread_list.items if it.key in marked and decidable(it)]
        thread_list.keep_marks({it.key for it in items})
        return items

    def _decide_marked(self, kind: DecisionKind) -> None:
        """Approve, reject or ignore every marked item at once: one confirmation (or one reason), then each is
        submitted on its own terms; queued together, the decision thread records them with one commit."""
        items = self._marked_items()
        fit = [it for it in items if all(kind in it.allowed(i) for i in range(len(it.actions)))]
        if len(fit) < len(items):
            self.app.notify(f"{len(items) - len(fit)} marked item(s) don't allow {kind.value}; they stay marked.",
                            severity="warning", markup=False)
        if not fit:
            return

        def submit(text: str | None = None) -> None:
            for it in fit:
                self.thread_list.unmark(it.key)
                self._submit(it, [Decision(kind, i, text=text) for i in range(len(it.actions))], advance=False)
            self._refresh()

        title, body = bulk_lines(kind, fit)
        if kind is DecisionKind.REJECT:
            from hitl_tui.ui.dialogs.reject import RejectDialog

            title.append("\n")
            title.append_text(body)
            self.app.push_screen(RejectDialog(title), lambda r: submit(r) if r else None)
            return
        from hitl_tui.ui.dialogs.confirm import ConfirmDialog

        self.app.push_screen(ConfirmDialog(title, body), lambda ok: submit() if ok else None)

    def action_decide(self, kind_name: str) -> None:
        kind = DecisionKind(kind_name)
        if not self.readonly and kind in MARKED_KINDS and self._marked_items():
            self._decide_marked(kind)
            return
        item = self.selected
        if self.readonly or item is None or self.check_action("decide", (kind_name,)) is not True:
            return
        # Dialogs are imported when first used: TextArea and friends are not needed for the first paint.
        from hitl_tui.ui.dialogs.edit import EditDialog
        from hitl_tui.ui.dialogs.feedback import FeedbackDialog
        from hitl_tui.ui.dialogs.reject import RejectDialog

        index = self._index_of(item)
        action = item.actions[index]
        def with_text(text: str | None) -> None:
            if text:
                self._decided(item, Decision(kind, index, text=text))

        def with_args(args: Any) -> None:
            if args is not None:
                self._decided(item, Decision(kind, index, args=args))

        subject = decision_subject(kind, item, index)
        if kind is DecisionKind.REJECT:
            self.app.push_screen(RejectDialog(subject), with_text)
        elif kind is DecisionKind.FEEDBACK:
            question = action.description if item.interrupt and item.interrupt.shape is PayloadShape.RAW else None
            self.app.push_screen(FeedbackDialog(subject, question=question), with_text)
        elif kind is DecisionKind.EDIT:
            raw = item.interrupt is not None and item.interrupt.shape is PayloadShape.RAW
            dialog = EditDialog(
                action.name, action.args, require_object=not raw, editor=self.editor,
                check=lambda args: edit_problem(action, args),
                outlook=lambda args: self._outlook(self._as_decided(item, [Decision(kind, index, args=args)])),
                subject=subject,
            )
            self.app.push_screen(dialog, with_args)
        else:
            self._decided(item, Decision(kind, index))

    def _decided(self, item: ReviewItem, decision: Decision) -> None:
        """One action has a decision: stage it (several actions) or submit it."""
        if len(item.actions) > 1:
            staged = self._staged.setdefault(item.key, {})
            staged[decision.action_index] = decision
            undecided = [i for i in range(len(item.actions)) if i not in staged]
            if undecided:
                self._action_index[item.key] = undecided[0]
                self.book.set_local(item.key, f"{len(staged)}/{len(item.actions)} decided")
                self._refresh()
                return
            decisions = [staged[i] for i in range(len(item.actions))]
        else:
            decisions = [decision]
        self._confirm_then_submit(item, decisions)

    def _as_decided(self, item: ReviewItem, decisions: list[Decision]) -> ReviewItem:
        """The item as the policy sees what will run: edited arguments assessed, not the agent's first ask."""
        if self.assess is None or item.interrupt is None or not any(d.kind is DecisionKind.EDIT for d in decisions):
            return item
        return replace(item, assessment=self.assess(item.thread, as_decided(item.interrupt, decisions)))

    @staticmethod
    def _outlook(item: ReviewItem) -> str:
        parts = [f"Risk with these arguments: {visible(item.risk or 'not rated')}"]
        if item.approvals_needed > 1:
            parts.append(f"needs {item.approvals_needed} approvers")
        if item.needs_confirmation:
            parts.append("asks for confirmation")
        return "; ".join(parts) + "."

    def _confirm_then_submit(self, item: ReviewItem, decisions: list[Decision]) -> None:
        item = self._as_decided(item, decisions)
        if not (item.needs_confirmation and any(d.kind in EXECUTES for d in decisions)):
            self._submit(item, decisions)
            return
        from hitl_tui.ui.dialogs.confirm import ConfirmDialog

        title = Text("Confirm: this action is ")
        title.append_text(safe(item.risk or "high", limit=20))
        title.append(" risk" + (" and the policy asks for confirmation" if not item.high_risk else ""))
        body = Text()
        for d in decisions:
            body.append_text(decision_subject(d.kind, item, d.action_index))
            body.append("\n")

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._submit(item, decisions)

        self.app.push_screen(ConfirmDialog(title, body), confirmed)

    def _submit(self, item: ReviewItem, decisions: list[Decision], *, advance: bool = True) -> None:
        assert item.interrupt is not None
        self._notes.pop(item.key, None)
        self.thread_list.unmark(item.key)
        self.book.set_local(item.key, "submitting…")
        if advance:
            # Move on only once the desk accepted it: a refused decision must leave the cursor on its item, or
            # the next key press would decide whatever the cursor moved to.
            self._advance_after.add(item.key)
        self.post_message(self.DecisionSubmitted(item.key, item.thread, item.interrupt, decisions))
        self._refresh()

    def _advance_from(self, key: str) -> None:
        """After a decision, move to the next item still waiting (the way through a queue is downwards)."""
        items = self.thread_list.items
        start = items.index_of(key)
        if start is None:
            return
        for step in range(1, len(items)):
            it = items[(start + step) % len(items)]
            if it.decidable and it.local is None and not self._approved_by_me(it):
                self.thread_list.select_key(it.key)
                return

    def _approved_by_me(self, item: ReviewItem) -> bool:
        return any(v.operator_uid == self.operator_uid for v in item.voters)

    def apply_outcome(self, key: str, *, result: Any = None, refused: str | None = None,
                      error: str | None = None) -> None:
        """What the desk said about a submission."""
        self._staged.pop(key, None)
        advance = key in self._advance_after and refused is None and error is None
        self._advance_after.discard(key)
        if refused is not None:
            self.book.set_local(key, "refused")
            self._notes[key] = f"Refused: {refused}"
            self.app.notify(visible(refused), title="Decision refused", severity="warning", markup=False)
        elif error is not None:
            self.book.set_local(key, "not submitted")
            self._notes[key] = f"Not submitted: {error}"
            self.app.notify(visible(error), title="Decision failed", severity="error", markup=False)
        else:
            self.book.set_local(key, None)
            records = tuple(getattr(result, "records", ()) or ())
            votes = tuple(getattr(result, "votes", ()) or ())
            if records:
                merged = {(r.thread_id, r.checkpoint_id, r.interrupt_key): r for r in self.book.records()}
                merged.update({(r.thread_id, r.checkpoint_id, r.interrupt_key): r for r in records})
                self.book.set_records(merged.values())
            elif votes:
                needed = getattr(result, "approvals_needed", len(votes) + 1)
                # Shown now; the next read of the shared ledger brings the same (and any other console's votes).
                self.book.add_votes(key, tuple(Voter(v.operator, v.operator_uid) for v in votes))
                self._notes[key] = f"Your approval is recorded ({len(votes)} of {needed}); waiting for more."
            audit_error = getattr(result, "audit_error", None)
            if audit_error:
                self.apply_problem("audit-write", audit_error)
        self._refresh()
        if advance and self.selected is not None and self.selected.key == key:
            self._advance_from(key)  # only when the operator is still on it (they may have moved on meanwhile)
