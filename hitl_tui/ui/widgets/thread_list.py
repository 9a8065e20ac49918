"""The list of items waiting for a person: a virtual list that renders only the rows on screen.

Not a `DataTable`: it measures every cell of every row to size its columns, which takes ~2.5 s for 10,000 rows
before the first paint. Here columns get their widths from the widget's width, a row is rendered when it scrolls
into view (as toolong does for huge logs), and replacing the whole list is O(rows) dictionary work.

Live updates keep the cursor on the same item (by key) and, when rows are added or removed above it, scroll by the
same amount so the selected row does not move on screen. New items are marked until the operator looks at them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from hitl_tui.clock import age_text
from hitl_tui.console.review_items import ReviewItem
from hitl_tui.console.rows import ListedRows, Rows
from hitl_tui.console.shown import one_line
from hitl_tui.decisions.decision import DecisionState
from hitl_tui.ui.keys import thread_list_bindings

Escalate = Callable[[ReviewItem, datetime], Any]  # -> hitl_tui.policy.timeouts.Escalation | None


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int  # 0: takes the width left over
    justify: str = "left"


_WIDE = (
    Column("status", "Status", 18), Column("thread", "Thread", 16), Column("graph", "Graph", 14),
    Column("action", "Action", 0), Column("waited", "Waited", 7, "right"), Column("conf", "Conf", 5, "right"),
    Column("risk", "Risk", 8),
)
_NARROW = (
    Column("status", "Status", 13), Column("thread", "Thread", 15), Column("action", "Action", 0),
    Column("waited", "Waited", 6, "right"), Column("conf", "Conf", 4, "right"), Column("risk", "Risk", 8),
)
_TINY = (
    Column("status", "Status", 12), Column("thread", "Thread", 12), Column("action", "Action", 0),
    Column("waited", "Waited", 6, "right"), Column("risk", "Risk", 8),
)
WIDE_FROM = 96  # widget width from which the graph column is shown
NARROW_FROM = 64  # below this, the confidence column goes too
STATUS_MAX_SHARE = 0.3  # the status column grows to fit its longest text, up to this share of the width
DEADLINE_STATUS = "overdue 23h59m"  # the longest deadline status: always fits


def columns_for(width: int, status_width: int = 0) -> list[tuple[Column, int]]:
    """The columns that fit and the width each gets; the status column widens to `status_width` where it can,
    so "approved by alice@host" is not cut to "approved by al…" (the action column gives way)."""
    cols = _WIDE if width >= WIDE_FROM else _NARROW if width >= NARROW_FROM else _TINY
    status = max(cols[0].width, min(status_width, int(width * STATUS_MAX_SHARE)))
    cols = (Column("status", "Status", status), *cols[1:])
    fixed = sum(c.width for c in cols) + (len(cols) - 1)
    flex = max(6, width - fixed)
    return [(c, c.width or flex) for c in cols]


class ThreadList(ScrollView, can_focus=True):
    """Items waiting for a person; one row each, header pinned on the first line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "thread-list--header",
        "thread-list--cursor",
        "thread-list--cursor-blurred",
        "thread-list--new",
        "thread-list--decided",
        "thread-list--approving",
        "thread-list--failed",
        "thread-list--gone",
        "thread-list--risk-high",
        "thread-list--risk-critical",
        "thread-list--unreadable",
        "thread-list--due",
        "thread-list--overdue",
    }

    # Own up/down, or the inherited scroll bindings would scroll the view instead of moving the cursor.
    BINDINGS: ClassVar[list[BindingType]] = [*thread_list_bindings()]

    cursor: reactive[int] = reactive(0, init=False)

    class Highlighted(Message):
        """The operator moved to another item (or the item under the cursor changed)."""

        def __init__(self, thread_list: ThreadList, item: ReviewItem | None) -> None:
            super().__init__()
            self.thread_list = thread_list
            self.item = item

        @property
        def control(self) -> ThreadList:
            return self.thread_list

    def __init__(
        self, *, escalate: Escalate | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.escalate = escalate  # deadline pressure of an item at a moment (None: no deadline)
        self._items: Rows = ListedRows([])
        self.new_keys: set[str] = set()
        self._marked: set[str] = set()  # items the operator marked to decide together
        self.now = datetime.now(UTC)
        self._lines: LRUCache[tuple[object, ...], tuple[object, Strip]] = LRUCache(1024)
        self._generation = 0  # bumped when every line must be drawn again (time, width, focus, theme)
        self._styles: dict[str, Style] = {}
        self._styles_generation = -1
        self._announced: ReviewItem | None = None
        self._status_width = len(DEADLINE_STATUS)  # the longest status text shown (see columns_for)

    # -- what other widgets ask --------------------------------------------------------------------------------

    @property
    def items(self) -> Rows:
        return self._items

    @property
    def selected(self) -> ReviewItem | None:
        return self._items[self.cursor] if 0 <= self.cursor < len(self._items) else None

    # -- updates from the screen --------------------------------------------------------------------------------

    def show(
        self,
        items: Rows | Sequence[ReviewItem],
        *,
        now: datetime,
        new_keys: set[str] | None = None,
        longest_status: int | None = None,
    ) -> None:
        """Replace the rows, keeping the cursor on the same item and that item at the same place on screen.
        `items`: a list, or a live view that finds a key itself (`Rows`: 50k rows are then never copied).
        `longest_status`: the longest status text among them, when the caller keeps count."""
        selected = self.selected
        old_cursor = self.cursor
        rows = items if isinstance(items, Rows) else ListedRows(list(items))
        self._items = rows
        self.new_keys = {k for k in self.new_keys | (new_keys or set()) if rows.index_of(k) is not None}
        self.now = now  # the "waited" text is part of each line's cache key
        if longest_status is None:
            # Waiting items all say "waiting" (or a deadline, bounded by DEADLINE_STATUS): only the others can be
            # longer, and skipping them keeps this cheap with 10,000 rows.
            longest_status = max((len(it.status) for it in rows if it.record is not None or it.local or it.voters),
                                 default=0)
        if max(longest_status, len(DEADLINE_STATUS)) != self._status_width:
            self._status_width = max(longest_status, len(DEADLINE_STATUS))
            self._generation += 1  # every line is laid out again
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        found = rows.index_of(selected.key) if selected else None
        target = max(0, min(old_cursor if found is None else found, len(rows) - 1))
        if found is not None and target != old_cursor:
            # Rows came or went above the selection: move the view with it.
            self.scroll_to(y=self.scroll_y + (target - old_cursor), animate=False, immediate=True)
        self.set_reactive(ThreadList.cursor, target)
        self._keep_cursor_visible()
        self.refresh()
        self._announce()

    def tick(self, now: datetime) -> None:
        """Time moved on: redraw the "waited" column (lines whose text did not change come from the cache)."""
        self.now = now
        self.refresh()

    @property
    def marked(self) -> frozenset[str]:
        """Keys of the items the operator marked to decide together."""
        return frozenset(self._marked)

    def toggle_mark(self, key: str) -> None:
        """Mark the item, or unmark it when it was marked."""
        self._marked.symmetric_difference_update({key})
        self.refresh()

    def unmark(self, key: str) -> None:
        self._marked.discard(key)
        self.refresh()

    def keep_marks(self, keys: set[str]) -> None:
        """Drop the marks of every item not in `keys` (marks on items that can no longer be decided)."""
        if not self._marked <= keys:
            self._marked.intersection_update(keys)
            self.refresh()

    def select_key(self, key: str) -> bool:
        index = self._items.index_of(key)
        if index is None:
            return False
        self.cursor = index
        return True

    # -- cursor ------------------------------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._items) - 1))

    def watch_cursor(self) -> None:
        self._keep_cursor_visible()
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        item = self.selected
        if item is not None and item.key in self.new_keys:
            self.new_keys.discard(item.key)  # the operator has seen it now
        if item != self._announced:
            self._announced = item
            self.post_message(self.Highlighted(self, item))

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _keep_cursor_visible(self) -> None:
        rows_visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows_visible:
            self.scroll_to(y=self.cursor - rows_visible + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor += self._page()

    def action_page_up(self) -> None:
        self.cursor -= self._page()

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self._items) - 1

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.cursor = int(self.scroll_y) + event.y - 1

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._items) + 1)
        self._generation += 1
        self._keep_cursor_visible()

    def on_focus(self) -> None:
        self._generation += 1
        self.refresh()

    def on_blur(self) -> None:
        self._generation += 1
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._generation += 1

    # -- rendering ---------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._cached(("header", width, self._generation), lambda: self._header(width))
        index = int(self.scroll_y) + y - 1
        if index >= len(self._items):
            return Strip.blank(width, self.rich_style)
        item = self._items[index]
        waited = age_text(item.thread.paused_at, self.now)
        status = self._status(item)
        key = (item.key, index == self.cursor, status, waited, width, self._generation)
        return self._cached(key, lambda: self._row(item, index, width, status), item)

    def _cached(self, key: tuple[object, ...], make, owner: object = None) -> Strip:  # type: ignore[no-untyped-def]
        """A line from the cache when it was drawn for this very object (a changed item is a new object)."""
        hit = self._lines.get(key)
        if hit is not None and hit[0] is owner:
            return hit[1]
        strip = make()
        self._lines[key] = (owner, strip)
        return strip

    def _style(self, name: str) -> Style:
        """Component styles, looked up once per generation (every visible row needs several)."""
        if not name:
            return Style()
        if self._styles_generation != self._generation:
            self._styles.clear()
            self._styles_generation = self._generation
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        text.truncate(width, overflow="ellipsis", pad=True)
        segments = [Segment(s.text, style + s.style if s.style else style) for s in text.render(self.app.console)]
        return Strip(segments, width).crop(0, width)

    def _header(self, width: int) -> Strip:
        line = Text(end="")
        for i, (col, w) in enumerate(columns_for(width, self._status_width)):
            if i:
                line.append(" ")
            title = col.title[:w]
            line.append(title.rjust(w) if col.justify == "right" else title.ljust(w))
        style = self.rich_style + self._style("thread-list--header")
        return self._strip(line, width, style)

    def _row(self, item: ReviewItem, index: int, width: int, status: tuple[str, str]) -> Strip:
        line = Text(end="")
        for i, (col, w) in enumerate(columns_for(width, self._status_width)):
            if i:
                line.append(" ")
            cell = self._cell(item, col.key) if col.key != "status" else Text(status[0], style=self._style(status[1]))
            cell.truncate(w, overflow="ellipsis")
            if col.justify == "right":
                line.append(" " * (w - cell.cell_len))
                line.append_text(cell)
            else:
                line.append_text(cell)
                line.append(" " * (w - cell.cell_len))
        style = self.rich_style
        if item.interrupt is None:
            style += self._style("thread-list--unreadable")
        elif not item.pending:
            style += self._style("thread-list--gone")
        if index == self.cursor:
            name = "thread-list--cursor" if self.has_focus else "thread-list--cursor-blurred"
            style += self._style(name)
        return self._strip(line, width, style)

    def _cell(self, item: ReviewItem, column: str) -> Text:
        if column == "thread":
            return Text(one_line(item.thread.thread_id, 40))
        if column == "graph":
            return Text(one_line(item.thread.graph_id or "-", 40))
        if column == "action":
            return Text(one_line(item.action_label, 80))
        if column == "waited":
            return Text(age_text(item.thread.paused_at, self.now))
        if column == "conf":
            conf = item.interrupt.confidence if item.interrupt else None
            return Text("-" if conf is None else f"{conf:.2f}")
        if column == "risk":
            risk = item.risk
            if not risk:
                return Text("-")
            # Critical is set apart by more than colour (reverse video in the CSS): with 16 colours or fewer, red
            # and bright red may be the same, and critical must still stand out more than high.
            critical = risk.lower() == "critical"
            style = self._style("thread-list--risk-critical" if critical else "thread-list--risk-high") \
                if item.high_risk else Style()
            return Text(one_line(risk, 12), style=style)
        return Text("")

    def _status(self, item: ReviewItem) -> tuple[str, str]:
        """The status cell's text and component class: new, decided by X, resumed, failed, due, overdue..."""
        if item.key in self._marked and item.record is None and not item.local:
            return "■ marked", "thread-list--new"
        if item.key in self.new_keys:
            return "● new", "thread-list--new"
        record = item.record
        if record is not None:
            failed = record.state in (DecisionState.FAILED, DecisionState.IN_DOUBT)
            return one_line(item.status, 60), "thread-list--failed" if failed else "thread-list--decided"
        if item.local:
            return one_line(item.local, 60), "thread-list--failed" if item.local.startswith("refused") else ""
        if item.voters:  # a four-eyes round under way: "approved 1/2" says more than the deadline
            return one_line(item.status, 60), "thread-list--approving"
        if item.pending and item.interrupt is not None and self.escalate is not None:
            pressure = self.escalate(item, self.now)
            if pressure is not None and pressure.level != "ok":
                if pressure.level == "overdue":
                    return f"overdue {age_text(pressure.deadline_at, self.now)}", "thread-list--overdue"
                left = age_text(self.now, pressure.deadline_at)
                label = "urgent" if pressure.level == "urgent" else "due in"
                return f"{label} {left}", "thread-list--overdue" if pressure.level == "urgent" else "thread-list--due"
        return one_line(item.status, 60), ""
