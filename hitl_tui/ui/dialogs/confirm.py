"""Confirm a decision on a high-risk action (or on several marked items): `dialog_confirm` (y) or enter on Confirm
goes ahead, `dialog_decline` (n) or `dialog_cancel` (esc) cancels."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from hitl_tui.ui.dialogs.base import Dialog
from hitl_tui.ui.keys import confirm_bindings


class ConfirmDialog(Dialog[bool]):
    """Returns True to go ahead; None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [*confirm_bindings()]

    def __init__(self, title: Text, body: Text) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.body)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Confirm", id="confirm", variant="error")
            yield Static(Text(""), id="keys", classes="dialog-keys")

    def on_mount(self) -> None:
        # Button labels name the keys as bound now (a remapped key shows as remapped).
        self.query_one("#cancel", Button).label = f"Cancel ({self.key_for('cancel')})"
        self.query_one("#confirm", Button).label = f"Confirm ({self.key_for('confirm')})"
        self.query_one("#cancel", Button).focus()  # the safe choice has the focus

    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def pressed_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def pressed_cancel(self) -> None:
        self.dismiss(None)
