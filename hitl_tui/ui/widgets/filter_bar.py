"""The filter bar: `/` opens it, typing narrows the list (after a short quiet), enter keeps it, esc clears it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label

FILTER_DELAY = 0.12  # seconds of typing quiet before the list is filtered


class FilterBar(Horizontal):
    """A one-line filter input; hidden until opened. Posts `FilterBar.Changed` with the words to filter by."""

    class Changed(Message):
        """The filter text to apply; `done`: the operator pressed enter (the list takes the focus back)."""

        def __init__(self, bar: FilterBar, value: str, *, done: bool = False) -> None:
            super().__init__()
            self.bar = bar
            self.value = value
            self.done = done

        @property
        def control(self) -> FilterBar:
            return self.bar

    def __init__(self, *, key: str = "/", clear_key: str = "esc", id: str | None = None) -> None:
        super().__init__(id=id)
        self._key = key  # the keys that open and clear the filter, as bound (they can be remapped)
        self._clear_key = clear_key
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label(self._key)
        yield Input(placeholder=f"filter: words that must all appear ({self._clear_key} clears)", id="filter")

    @property
    def input(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def active(self) -> bool:
        return self.has_class("-active")

    def open(self) -> None:
        """Show the bar and focus its input now, not after this message (Widget.focus defers): letters typed
        right after `/` must reach the filter, never the list, where they are decision keys."""
        self.add_class("-active")
        self.screen.set_focus(self.input)

    def clear(self) -> None:
        """Empty and hide the bar (the owner applies the empty filter itself)."""
        self.input.value = ""
        self.remove_class("-active")

    @on(Input.Changed, "#filter")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        value = event.value
        self._timer = self.set_timer(FILTER_DELAY, lambda: self.post_message(self.Changed(self, value)))

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        if not event.value:
            self.remove_class("-active")
        self.post_message(self.Changed(self, event.value, done=True))
