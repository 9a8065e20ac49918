"""Reject: a reason is required (the agent, and the audit log, see it)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from hitl_tui.ui.dialogs.base import Dialog
from hitl_tui.ui.shown import safe


class RejectDialog(Dialog[str]):
    """Asks why; returns the reason, or None when cancelled."""

    def __init__(self, action_name: str) -> None:
        super().__init__()
        self.action_name = action_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="reject-dialog"):
            title = Text("Reject ")
            title.append_text(safe(self.action_name, limit=60))
            yield Static(title, classes="dialog-title")
            yield Static(Text("Why? The agent receives this reason, and the audit log records it."))
            reason = Input(placeholder="reason (required)", id="reason")
            reason.cursor_blink = self.blink
            yield reason
            yield Static(Text(""), id="error", classes="dialog-error")
            yield Static(Text("enter: reject   esc: cancel"), classes="dialog-keys")

    @on(Input.Submitted, "#reason")
    def submit(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.query_one("#error", Static).update(Text("A reason is required to reject."))
            return
        self.dismiss(reason)

    @on(Input.Changed, "#reason")
    def clear_error(self) -> None:
        self.query_one("#error", Static).update(Text(""))
