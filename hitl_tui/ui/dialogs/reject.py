"""Reject: a reason is required (the agent, and the audit log, see it)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from hitl_tui.ui.dialogs.base import Dialog
from hitl_tui.ui.keys import reject_bindings


class RejectDialog(Dialog[str]):
    """Asks why; returns the reason, or None when cancelled."""

    # Enter in the reason field arrives as Input.Submitted (the field has its own enter binding). Not a priority
    # binding: that would run ahead of typed characters still queued for the field, and reject with half a reason.
    BINDINGS: ClassVar[list[BindingType]] = [*reject_bindings()]

    def __init__(self, subject: Text) -> None:
        super().__init__()
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="reject-dialog"):
            yield Static(self.subject, classes="dialog-title")
            yield Static(Text("Why? The agent receives this reason, and the audit log records it."))
            reason = Input(placeholder="reason (required)", id="reason")
            reason.cursor_blink = self.blink
            yield reason
            yield Static(Text(""), id="error", classes="dialog-error")
            yield Static(Text(""), id="keys", classes="dialog-keys")

    def action_reject(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#error", Static).update(Text("A reason is required to reject."))
            return
        self.dismiss(reason)

    @on(Input.Submitted, "#reason")
    def submitted(self) -> None:
        if "enter" in self.keys_of("reject"):  # remapped elsewhere, enter must not reject behind the hint's back
            self.action_reject()

    @on(Input.Changed, "#reason")
    def clear_error(self) -> None:
        self.query_one("#error", Static).update(Text(""))
