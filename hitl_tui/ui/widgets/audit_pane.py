"""The audit log as it grows: one readable line per record (seq, when, who, what, outcome)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import RichLog

from hitl_tui.audit import UNPARSEABLE, format_record
from hitl_tui.console.shown import safe

MAX_LINES = 1_000
_BAD_OUTCOMES = {"failed", "in_doubt"}


class AuditPane(RichLog):
    """Tails the audit log; lines arrive from the audit watcher."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"audit-pane--refused", "audit-pane--bad", "audit-pane--dim"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False, auto_scroll=True, id=id)
        self.count = 0

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        for rec in records:
            self.count += 1
            self.write(self._line(rec), scroll_end=True)

    def _line(self, rec: dict[str, Any]) -> Text:
        # format_record builds text from the record's data, so it goes through `safe` like any agent text.
        text = safe(format_record(rec), limit=400)
        event, outcome = rec.get("event"), rec.get("outcome")
        if event == UNPARSEABLE or outcome in _BAD_OUTCOMES:
            text.stylize(self.get_component_rich_style("audit-pane--bad"))
        elif event == "refused":
            text.stylize(self.get_component_rich_style("audit-pane--refused"))
        return text

    def note(self, message: str) -> None:
        """A line of our own (e.g. the log can't be read); not an audit record."""
        self.write(Text(message, style=self.get_component_rich_style("audit-pane--dim")), scroll_end=True)
