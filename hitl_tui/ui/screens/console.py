"""The main screen: list, details, audit pane, status line, filter and footer; decision keys and their dialogs.

The app hands it what the background loops read (`apply_*`, method calls down); it hands decisions to the app's
decision runner (`submit_decision`). It never touches the DB or files itself.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label

from hitl_tui.checkpoints.reader import ReadResult
from hitl_tui.console.list_shape import ListShape
from hitl_tui.console.review_items import ItemBook, ReviewItem
from hitl_tui.console.shown import age_text, deadline_text, safe
from hitl_tui.console.subjects import bulk_lines, decision_subject
from hitl_tui.console.watchers import LedgerRead
from hitl_tui.decisions.decision import Decision, DecisionState, as_decided
from hitl_tui.decisions.resume_values import edit_problem
from hitl_tui.decisions.state import Voter
from hitl_tui.model import DecisionKind, PayloadShape, PendingInterrupt, PendingThread
from hitl_tui.notify import Notifier, WatchedItem
from hitl_tui.policy.rules import EXECUTES
from hitl_tui.safe_text import visible
from hitl_tui.ui.keys import console_bindings
from hitl_tui.ui.widgets.audit_pane import AuditPane
from hitl_tui.ui.widgets.details import DetailsPane
from hitl_tui.ui.widgets.status_bar import StatusBar
from hitl_tui.ui.widgets.thread_list import Escalate, ThreadList

if TYPE_CHECKING:
    from hitl_tui.ui.app import ConsoleApp

NARROW_BELOW = 110  # columns: list above details instead of beside
SHORT_BELOW = 30  # rows: a smaller audit pane
AGE_TICK_SECONDS = 5.0  # "waited" and the details' relative times move on this often
# What a key does to every marked item at once (edit and feedback are one item's business).
MARKED_KINDS = frozenset({DecisionKind.APPROVE, DecisionKind.REJECT, DecisionKind.IGNORE})


def _decidable(item: ReviewItem | None) -> bool:
    """Still waiting for this console's decision: listed, undecided, nothing submitted or staged."""
    return item is not None and item.decidable and not item.local
ZOOMS = ("", "-zoom-list", "-zoom-details")  # screen classes the zoom key cycles through (console.tcss)
FILTER_DELAY = 0.12  # seconds of typing quiet before the list is filtered


class ConsoleScreen(Screen[None]):
    """Everything an operator sees while working through the queue."""

    BINDINGS: ClassVar[list[BindingType]] = [*console_bindings()]

    def __init__(
        self, *, db: Path, operator: str, readonly: bool, clock: Callable[[], datetime],
        operator_uid: int | None = None,
        assess: Callable[[PendingThread, PendingInterrupt], Any] | None = None,
        escalate: Escalate | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        super().__init__()
        self.notifier = notifier  # None: notifications are off (config [notify])
        self.db = db
        self.operator = operator
        self.operator_uid = operator_uid  # four-eyes: this operator's own approval is already counted
        self.readonly = readonly
        self.clock = clock
        self.escalate = escalate
        self.assess = assess
        self.book = ItemBook(clock=clock, assess=assess)
        self.filter_text = ""
        self.shape = ListShape()  # sort order, newest first, decided hidden
        self.zoom = 0  # index into ZOOMS
        self.loaded = False
        self._action_index: dict[str, int] = {}
        self._staged: dict[str, dict[int, Decision]] = {}
        self._notes: dict[str, str] = {}
        self._filter_timer: Timer | None = None
        self._paint_log = os.environ.get("HITL_TUI_PAINT_LOG")
        self._painted_rows = False
        self._details_ready = False
        self._details_shown: tuple[object, ...] | None = None
        self._keys_state: tuple[object, ...] | None = None
        self._advance_after: set[str] = set()  # submitted with the cursor on them: move on once accepted

    @property
    def console_app(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    # -- layout ------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(operator=self.operator, db=self.db, readonly=self.readonly, id="status")
        with Horizontal(id="main"):
            with Vertical(id="list-pane"):
                yield ThreadList(escalate=self.escalate, id="threads")
            yield DetailsPane(id="details")
        yield AuditPane(id="audit")
        with Horizontal(id="filter-bar"):
            yield Label("/")
            yield Input(placeholder="filter: words that must all appear (esc clears)", id="filter")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#list-pane").border_title = "Waiting for a decision"
        self.query_one(DetailsPane).border_title = "Details"
        self.query_one(AuditPane).border_title = "Audit log"
        self.query_one("#filter", Input).cursor_blink = bool(getattr(self.app, "cursor_blink", True))
        self.query_one(DetailsPane).show(None, now=self.clock(), empty_text="Reading the checkpoint DB…")
        self.query_one(ThreadList).focus()
        self.set_interval(AGE_TICK_SECONDS, self._tick)
        self.console_app.start_background()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")
        self.set_class(self.size.height < SHORT_BELOW, "-short")

    @property
    def thread_list(self) -> ThreadList:
        return self.query_one(ThreadList)

    @property
    def selected(self) -> ReviewItem | None:
        return self.thread_list.selected

    # -- data from the background loops ------------------------------------------------------------------------

    def apply_threads(self, result: ReadResult, ledger: LedgerRead | None = None, *, complete: bool = True) -> None:
        """What the DB watcher read: all threads (full), the changed ones, or one batch of the first read."""
        if ledger is not None:  # records first: a row that just left the DB then stays, showing who decided
            self.book.set_records(ledger.records)
            self.book.set_votes(dict(ledger.votes))
        changed = None if result.full else result.changed
        # Only the changed threads matter to an incremental update: don't make the book search 50k for them.
        threads = result.updated if changed is not None and result.updated is not None else result.threads
        added = self.book.set_threads(threads, changed)
        new = added if self.loaded else set()
        first_rows = not self._painted_rows
        self._painted_rows = self._painted_rows or bool(self.book.items)
        first = complete and not self.loaded
        self.loaded = self.loaded or complete
        self._refresh(new_keys=new)
        self._notify()
        if first_rows or first:
            # The list is painted before the details: their highlighter is not needed for the first frame.
            self.app.call_after_refresh(self._details_after_first_paint)
        if first:
            # Tens of thousands of long-lived objects were just made: move them out of the cyclic GC's way, or each
            # full collection walks them all (hundreds of ms with 10,000 threads, felt as a stutter).
            gc.freeze()
        if self._paint_log:
            ids = sorted({self.book.items[k].thread.thread_id for k in new if k in self.book.items})
            kind = "first" if first else ("first-rows" if first_rows and not complete else "update")
            self.app.call_after_refresh(self._log_paint, kind, ids)

    def _details_after_first_paint(self) -> None:
        self._details_ready = True
        self._show_details()

    def apply_ledger(self, ledger: LedgerRead) -> None:
        """The shared ledger changed: decisions and approvals from every console and worker."""
        changed = self.book.set_records(ledger.records)
        if self.book.set_votes(dict(ledger.votes)) or changed:
            self._refresh()

    def apply_audit(self, records: tuple[dict[str, Any], ...]) -> None:
        self.query_one(AuditPane).add(records)

    def apply_problem(self, source: str, message: str | None) -> None:
        self.query_one(StatusBar).set_problem(source, message)
        if source == "db" and message and not self.loaded:
            self.query_one(DetailsPane).show(None, now=self.clock(), empty_text=message)

    def _log_paint(self, kind: str, thread_ids: list[str]) -> None:
        """Benchmark instrumentation ($HITL_TUI_PAINT_LOG): when the list was painted, and with what."""
        import sys

        assert self._paint_log is not None
        heavy = ",".join(m for m in ("langgraph", "openai") if m in sys.modules) or "-"
        with open(self._paint_log, "a", encoding="utf-8") as f:
            f.write(f"{time.time():.6f} {kind} {len(self.thread_list.items)} {heavy} {' '.join(thread_ids[:100])}\n")

    def _tick(self) -> None:
        self.thread_list.tick(self.clock())
        self._show_details()
        self._notify()

    def _notify(self) -> None:
        """New items and escalations since the last look: hitl_tui.notify decides, the app writes."""
        if self.notifier is None or not self.loaded:
            return  # the first complete read is the baseline: what already waited rings nothing
        now = self.clock()
        watched = [
            WatchedItem(it.key, it.thread.thread_id, it.action_label,
                    getattr(self.escalate(it, now), "level", None) if self.escalate else None)
            for it in self.book.items.values() if it.decidable
        ]
        notices = self.notifier.observe(watched)
        if notices:
            self.console_app.tell(notices)

    # -- redrawing ---------------------------------------------------------------------------------------------

    def _refresh(self, new_keys: set[str] | None = None) -> None:
        now = self.clock()
        items = self.book.ordered()
        keys: list[str] | None = self.book.ordered_keys()
        if self.filter_text:
            items = [it for it in items if it.matches(self.filter_text)]
            keys = None
        if self.shape != ListShape():
            items = self.shape.apply(items, now, self.escalate)
            keys = None
        # keys: the book's order, so 50k rows are indexed without touching each one (only when nothing reordered).
        self.thread_list.show(items, now=now, new_keys=new_keys, keys=keys)
        status = self.query_one(StatusBar)
        status.loading = not self.loaded
        status.counts = self.book.counts()
        status.filter_text = self.filter_text
        status.shape_text = "" if self.shape == ListShape() else self.shape.describe()
        status.shown = len(items)
        status.new = len(self.thread_list.new_keys)
        status.redraw()
        self._show_details()
        self._refresh_keys()

    def _show_details(self) -> None:
        if not self._details_ready and self.book.items:
            return  # until the list's first paint (see apply_threads)
        item = self.selected
        empty = "Nothing matches the filter." if self.filter_text else "Nothing is waiting for a decision."
        if not self.loaded:
            empty = "Reading the checkpoint DB…"
        now = self.clock()
        index = self._index_of(item) if item else 0
        staged = dict(self._staged.get(item.key, {})) if item else None
        note = self._notes.get(item.key) if item else None
        pressure = self.escalate(item, now) if item is not None and item.pending and self.escalate else None
        # Re-rendering highlighted JSON is the costliest thing on screen: only when something shown changed,
        # relative times included (as the list shows them, so the two never disagree).
        times = (age_text(item.thread.paused_at, now) if item else None,
                 deadline_text(pressure.deadline_at, now) if pressure is not None else None)
        shown = (item, index, staged, note, empty, self.readonly, times, getattr(pressure, "level", None))
        if shown == self._details_shown:
            return
        self._details_shown = shown
        self.query_one(DetailsPane).show(
            item, action_index=index, staged=staged, note=note, now=now, readonly=self.readonly, empty_text=empty,
            pressure=pressure,
        )

    @on(ThreadList.Highlighted)
    def _highlighted(self) -> None:
        self._show_details()
        self.query_one(StatusBar).new = len(self.thread_list.new_keys)
        self.query_one(StatusBar).redraw()
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        """Re-check which keys apply, when that can have changed (the footer rebuilds itself on every refresh)."""
        state = (
            tuple(self.check_action("decide", (kind.value,)) for kind in DecisionKind),
            self.check_action("next_action", ()),
        )
        if state != self._keys_state:
            self._keys_state = state
            self.refresh_bindings()

    def _index_of(self, item: ReviewItem) -> int:
        index = self._action_index.get(item.key, 0)
        return index if 0 <= index < len(item.actions) else 0

    # -- keys --------------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mark":
            return False if self.readonly else (True if _decidable(self.selected) else None)
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

    def action_cursor_down(self) -> None:
        self.thread_list.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.thread_list.action_cursor_up()

    def action_next_action(self) -> None:
        item = self.selected
        if item is None or len(item.actions) < 2:
            return
        self._action_index[item.key] = (self._index_of(item) + 1) % len(item.actions)
        self._show_details()
        self._refresh_keys()

    # -- shaping the list and the layout ------------------------------------------------------------------------

    def action_sort(self) -> None:
        self._reshape(self.shape.next_order())

    def action_newest_first(self) -> None:
        self._reshape(self.shape.flipped())

    def action_hide_decided(self) -> None:
        self._reshape(self.shape.toggled_decided())

    def _reshape(self, shape: ListShape) -> None:
        self.shape = shape
        self._refresh()  # the status line says how the list is shaped

    def action_zoom(self) -> None:
        """Like lazygit's `+`: both panes, the list alone, the details alone (80x24 shows little of each)."""
        if ZOOMS[self.zoom]:
            self.remove_class(ZOOMS[self.zoom])
        self.zoom = (self.zoom + 1) % len(ZOOMS)
        if ZOOMS[self.zoom]:
            self.add_class(ZOOMS[self.zoom])
        if ZOOMS[self.zoom] != "-zoom-details":
            self.thread_list.focus()  # j/k move the list whichever pane shows (they are the screen's keys)

    def action_details_down(self) -> None:
        details = self.query_one(DetailsPane)
        details.scroll_relative(y=max(1, details.size.height // 2), animate=False)

    def action_details_up(self) -> None:
        details = self.query_one(DetailsPane)
        details.scroll_relative(y=-max(1, details.size.height // 2), animate=False)

    # -- filter ------------------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        bar = self.query_one("#filter-bar")
        bar.add_class("-active")
        # Focus now, not after this message (Widget.focus defers): letters typed right after `/` must reach the
        # filter, never the list, where they are decision keys.
        self.set_focus(self.query_one("#filter", Input))

    def action_clear_filter(self) -> None:
        bar = self.query_one("#filter-bar")
        if not bar.has_class("-active") and not self.filter_text:
            return
        self.query_one("#filter", Input).value = ""
        bar.remove_class("-active")
        self._set_filter("")
        self.thread_list.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self._set_filter(value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._set_filter(event.value)
        if not event.value:
            self.query_one("#filter-bar").remove_class("-active")
        self.thread_list.focus()

    def _set_filter(self, value: str) -> None:
        value = value.strip()
        if value != self.filter_text:
            self.filter_text = value
            self._refresh()

    # -- deciding ----------------------------------------------------------------------------------------------

    def action_mark(self) -> None:
        """Mark (or unmark) the selected item and move on, so a run of items is marked key by key."""
        item = self.selected
        if self.readonly or not _decidable(item):
            return
        assert item is not None
        self.thread_list.marked.symmetric_difference_update({item.key})
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
                self.console_app.acknowledge(item.key, record.decision_id)

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
        items = [it for it in thread_list.items if it.key in marked and _decidable(it)]
        marked.intersection_update(it.key for it in items)
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
                self.thread_list.marked.discard(it.key)
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
                action.name, action.args, require_object=not raw, editor=self.console_app.editor,
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
        self.thread_list.marked.discard(item.key)
        self.book.set_local(item.key, "submitting…")
        if advance:
            # Move on only once the desk accepted it: a refused decision must leave the cursor on its item, or
            # the next key press would decide whatever the cursor moved to.
            self._advance_after.add(item.key)
        self.console_app.submit_decision(item.key, item.thread, item.interrupt, tuple(decisions))
        self._refresh()

    def _advance_from(self, key: str) -> None:
        """After a decision, move to the next item still waiting (the way through a queue is downwards)."""
        items = self.thread_list.items
        start = next((i for i, it in enumerate(items) if it.key == key), None)
        if start is None:
            return
        for it in items[start + 1:] + items[:start]:
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
