"""The queue the operator works through: list, details, audit pane, status line, filter and footer.

The app hands it what the background loops read (`apply_*`, method calls down). Deciding (keys, dialogs, what the
desk said) is added by `ConsoleScreen` in console.py. It never touches the DB or files itself.
"""

from __future__ import annotations

import gc
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input

from hitl_tui.checkpoints.reader import ReadResult
from hitl_tui.clock import age_text
from hitl_tui.console.context_loader import ContextKey
from hitl_tui.console.item_book import ItemBook
from hitl_tui.console.list_shape import ListShape
from hitl_tui.console.loop_events import LedgerRead
from hitl_tui.console.review_items import ReviewItem
from hitl_tui.console.rows import Rows
from hitl_tui.console.shown import deadline_text
from hitl_tui.decisions.decision import Decision
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread
from hitl_tui.notify import Notice, Notifier, WatchedItem
from hitl_tui.ui.widgets.audit_pane import AuditPane
from hitl_tui.ui.widgets.details import DetailsPane
from hitl_tui.ui.widgets.filter_bar import FilterBar
from hitl_tui.ui.widgets.status_bar import StatusBar
from hitl_tui.ui.widgets.thread_list import Escalate, ThreadList

NARROW_BELOW = 110  # columns: list above details instead of beside
SHORT_BELOW = 30  # rows: a smaller audit pane
AGE_TICK_SECONDS = 5.0  # "waited" and the details' relative times move on this often
ZOOMS = ("", "-zoom-list", "-zoom-details")  # screen classes the zoom key cycles through (console.tcss)
CONTEXTS_KEPT = 256  # threads whose recent messages stay at hand after the cursor moved on
# The cursor rests this long on a row before its recent messages are read: a run of `j` reads only where it stops,
# and the read's repaint never lands on top of the next key's. Longer while the first read of a big DB still fills
# the list: the screen then shares the interpreter with the reader, and showing messages (a re-layout of the details)
# as the cursor passes each row made every key 25 ms slower (bench/console_bench.py, 43k paused threads).
CONTEXT_DELAY = 0.08
CONTEXT_DELAY_LOADING = 0.5


def decidable(item: ReviewItem | None) -> bool:
    """Still waiting for this console's decision: listed, undecided, nothing submitted or staged."""
    return item is not None and item.decidable and not item.local


class QueueScreen(Screen[None]):
    """Everything an operator sees while working through the queue."""

    class Ready(Message):
        """The widgets exist: the background loops may start (they report into them)."""

    class NoticesRaised(Message):
        """New items or escalations to ring or notify about (hitl_tui.notify decided which)."""

        def __init__(self, notices: list[Notice]) -> None:
            super().__init__()
            self.notices = notices

    class ContextWanted(Message):
        """The details show a thread whose recent messages have not been read yet."""

        def __init__(self, key: ContextKey, graph_id: str | None) -> None:
            super().__init__()
            self.key, self.graph_id = key, graph_id

    def __init__(
        self, *, db: Path | str, operator: str, readonly: bool, clock: Callable[[], datetime],
        operator_uid: int | None = None,
        assess: Callable[[PendingThread, PendingInterrupt], Any] | None = None,
        escalate: Escalate | None = None,
        notifier: Notifier | None = None,
        editor: str | None = None,
        key_label: Callable[[str], str] | None = None,
        reads_context: bool = False,
    ) -> None:
        """`reads_context`: someone answers ContextWanted (the app has a context source), so the details ask."""
        super().__init__()
        self.notifier = notifier  # None: notifications are off (config [notify])
        self.editor = editor  # the edit dialog's external editor command (None: none)
        self._key_label = key_label  # how the key of a binding id shows now, remaps included (the app knows)
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
        self._paint_log = os.environ.get("HITL_TUI_PAINT_LOG")
        self._painted_rows = False
        self._details_ready = False
        self._details_shown: tuple[object, ...] | None = None
        # Recent messages per (thread, checkpoint), the newest CONTEXTS_KEPT; and the last read that failed, shown
        # while the cursor stays on its row (back on it later, it is read again).
        self._contexts: OrderedDict[ContextKey, tuple[Any, ...]] = OrderedDict()
        self._context_failed: tuple[ContextKey, str] | None = None
        self._context_wanted: ContextKey | None = None  # on screen, not read yet (asked, or waiting for the cursor)
        self._context_timer: Timer | None = None
        self._context_shown: tuple[Any, ...] | str | None = None
        self._reads_context = reads_context
        self._keys_state: tuple[object, ...] | None = None
        self._advance_after: set[str] = set()  # submitted with the cursor on them: move on once accepted

    # -- layout ------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(operator=self.operator, db=self.db, readonly=self.readonly, id="status")
        with Horizontal(id="main"):
            with Vertical(id="list-pane"):
                yield ThreadList(escalate=self.escalate, id="threads")
            yield DetailsPane(id="details")
        yield AuditPane(id="audit")
        # Keys named from the bindings, as remapped.
        yield FilterBar(key=self.key_label("filter"), clear_key=self.key_label("clear_filter"), id="filter-bar")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#list-pane").border_title = "Waiting for a decision"
        self.query_one(DetailsPane).border_title = "Details"
        self.query_one(AuditPane).border_title = "Audit log"
        self.query_one("#filter", Input).cursor_blink = bool(getattr(self.app, "cursor_blink", True))
        self.query_one(DetailsPane).show(None, now=self.clock(), empty_text="Reading the checkpoint DB…")
        self.query_one(ThreadList).focus()
        self.set_interval(AGE_TICK_SECONDS, self._tick)
        self.post_message(self.Ready())

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")
        self.set_class(self.size.height < SHORT_BELOW, "-short")

    def key_label(self, binding_id: str) -> str:
        """How the key(s) bound to `binding_id` show, for text that names a key."""
        return self._key_label(binding_id) if self._key_label is not None else binding_id

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
            pane = self.query_one(DetailsPane)
            pane.show(None, now=self.clock(), empty_text=message)
            pane.show_context(None)  # no messages of an earlier row under the problem
            self._details_shown = self._context_shown = None
        if source == "db" and message is None and self._context_failed is not None:
            self._context_failed = None  # the DB reads again: a failed context is read again
            self._show_details()

    def apply_context(self, key: ContextKey, messages: tuple[Any, ...], *, error: str | None = None) -> None:
        """The recent messages of a thread the details showed (or the sentence saying why they can't be read)."""
        if error is not None:
            self._context_failed = (key, error)
        else:
            self._contexts[key] = messages
            self._contexts.move_to_end(key)
            while len(self._contexts) > CONTEXTS_KEPT:
                self._contexts.popitem(last=False)
        if self._context_wanted == key:
            self._context_wanted = None
        self._show_details()

    @property
    def context_settled(self) -> bool:
        """The row under the cursor shows its context, or why it has none (tests wait for this before a picture)."""
        item = self.selected
        if item is None or item.interrupt is None or not self._reads_context:
            return True
        key = (item.thread.thread_id, item.thread.checkpoint_id)
        if key in self._contexts:
            expected: tuple[Any, ...] | str = self._contexts[key]
        elif self._context_failed is not None and self._context_failed[0] == key:
            expected = self._context_failed[1]
        else:
            return False
        return self._context_shown == expected

    def _context_for(self, item: ReviewItem | None) -> tuple[Any, ...] | str | None:
        """The item's recent messages when read; else None (the pane shows none yet) and they are asked for once
        the cursor has rested on the item (CONTEXT_DELAY)."""
        if item is None or item.interrupt is None or not self._reads_context:
            self._context_wanted = None
            return None  # an unreadable thread's pane says why instead
        key = (item.thread.thread_id, item.thread.checkpoint_id)
        found = self._contexts.get(key)
        if found is not None:
            self._context_wanted = None  # back on a row already read: nothing to wait for
            self._contexts.move_to_end(key)
            return found
        if self._context_failed is not None:
            if self._context_failed[0] == key:
                return self._context_failed[1]  # shown while the cursor stays here
            self._context_failed = None  # the cursor moved on: coming back reads it again
        if key != self._context_wanted:
            self._context_wanted = key
            if self._context_timer is not None:
                self._context_timer.stop()
            delay = CONTEXT_DELAY if self.loaded else CONTEXT_DELAY_LOADING
            self._context_timer = self.set_timer(delay, lambda: self._ask_context(key, item.thread.graph_id))
        return None

    def _ask_context(self, key: ContextKey, graph_id: str | None) -> None:
        if key == self._context_wanted:  # the cursor is still there
            self.post_message(self.ContextWanted(key, graph_id))

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
            self.post_message(self.NoticesRaised(notices))

    # -- redrawing ---------------------------------------------------------------------------------------------

    def _refresh(self, new_keys: set[str] | None = None) -> None:
        now = self.clock()
        rows: Rows | list[ReviewItem]
        if not self.filter_text and self.shape == ListShape():
            # The book's own order, as a live view: an update costs the rows that changed, not a pass over 50k.
            rows = self.book.rows()
            self.thread_list.show(rows, now=now, new_keys=new_keys, longest_status=self.book.longest_status())
        else:
            rows = self.book.ordered()
            if self.filter_text:
                rows = [it for it in rows if it.matches(self.filter_text)]
            rows = self.shape.apply(rows, now, self.escalate)
            self.thread_list.show(rows, now=now, new_keys=new_keys)
        status = self.query_one(StatusBar)
        status.loading = not self.loaded
        status.counts = self.book.counts()
        status.filter_text = self.filter_text
        status.shape_text = "" if self.shape == ListShape() else self.shape.describe()
        status.shown = len(rows)
        status.new = len(self.thread_list.new_keys)
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
        context = self._context_for(item)
        if context != self._context_shown:
            self._context_shown = context
            self.query_one(DetailsPane).show_context(context)
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
        self._refresh_keys()
        if self._paint_log:  # the benchmark times keys pressed while a big DB is still being read
            self.app.call_after_refresh(self._log_paint, "cursor", [str(self.thread_list.cursor)])

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
        self.query_one(FilterBar).open()

    def action_clear_filter(self) -> None:
        bar = self.query_one(FilterBar)
        if not bar.active and not self.filter_text:
            return
        bar.clear()
        self._set_filter("")
        self.thread_list.focus()

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        self._set_filter(event.value)
        if event.done:
            self.thread_list.focus()

    def _set_filter(self, value: str) -> None:
        value = value.strip()
        if value != self.filter_text:
            self.filter_text = value
            self._refresh()
