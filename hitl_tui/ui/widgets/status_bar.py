"""The top line: who is operating, on which DB, how many items, and any problem in one sentence."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from hitl_tui.console.shown import safe


class StatusBar(Vertical):
    """Identity, DB path, counts, filter and mode; problems below, one sentence each."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"status-bar--label", "status-bar--mode", "status-bar--new"}

    # What the line shows; the screen sets them and the line redraws itself (only when its text really changes).
    loading: reactive[bool] = reactive(True, init=False)
    counts: reactive[dict[str, int]] = reactive(dict, init=False)
    filter_text: reactive[str] = reactive("", init=False)
    shape_text: reactive[str] = reactive("", init=False)  # the list's sort / direction / hidden items, if not default
    shown: reactive[int] = reactive(0, init=False)
    new: reactive[int] = reactive(0, init=False)

    def __init__(self, *, operator: str, db: Path | str, readonly: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.operator = operator
        self.db = db
        self.readonly = readonly
        self.problems: dict[str, str] = {}
        self._last_line: Text | None = None
        self._last_problems: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="status-line")
        yield Static(id="problem-line")

    def on_mount(self) -> None:
        self.redraw()

    def _watch_shown_state(self) -> None:
        if self.is_mounted:
            self.redraw()

    watch_loading = watch_counts = watch_filter_text = watch_shape_text = watch_shown = watch_new = _watch_shown_state

    def set_problem(self, source: str, message: str | None) -> None:
        if message is None:
            self.problems.pop(source, None)
        else:
            self.problems[source] = message
        self.redraw()

    def redraw(self) -> None:
        label = self.get_component_rich_style("status-bar--label")
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.readonly:
            line.append(" READ-ONLY ", style=self.get_component_rich_style("status-bar--mode"))
            line.append(" ")
        line.append_text(safe(self.operator, limit=60))
        line.append("  db ", style=label)
        line.append_text(safe(_short_path(self.db), limit=80))
        line.append("  ")
        if self.loading:
            line.append("reading…")
        else:
            c = self.counts
            line.append(f"{c.get('waiting', 0)} waiting")
            line.append(f" · {c.get('decided', 0)} decided")
            if c.get("unreadable"):
                line.append(f" · {c['unreadable']} unreadable")
            if self.new:
                line.append(f" · {self.new} new", style=self.get_component_rich_style("status-bar--new"))
        if self.shape_text:
            line.append("  ")
            line.append(self.shape_text, style=self.get_component_rich_style("status-bar--new"))
        if self.filter_text:
            line.append("  filter ", style=label)
            line.append_text(safe(self.filter_text, limit=40))
            line.append(f" ({self.shown} shown)")
        # Updating a Static re-lays out the screen: only when the text really changed.
        if line != self._last_line:
            self._last_line = line
            self.query_one("#status-line", Static).update(line)
        problems_text = "\n".join(self.problems.values())
        if problems_text != self._last_problems:
            self._last_problems = problems_text
            problems = self.query_one("#problem-line", Static)
            problems.display = bool(self.problems)
            problems.update(safe(problems_text, keep_newlines=True, limit=600))


def _short_path(path: Path | str, keep: int = 40) -> str:
    """The DB path, with the start elided when it is long: the file name is what tells DBs apart."""
    text = str(path)
    return text if len(text) <= keep else "…" + text[-(keep - 1):]
