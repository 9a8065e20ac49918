"""Feedback: free text for the agent (what LangChain calls "respond"); an answer to a plain question, too."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from hitl_tui.console.shown import safe
from hitl_tui.ui.dialogs.base import Dialog
from hitl_tui.ui.keys import feedback_bindings


class FeedbackDialog(Dialog[str]):
    """Multi-line text; `dialog_send` (ctrl+s) sends it. Returns the text, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [*feedback_bindings()]

    def __init__(self, subject: Text, *, question: str | None = None) -> None:
        super().__init__()
        self.subject = subject
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="feedback-dialog"):
            yield Static(self.subject, classes="dialog-title")
            if self.question:
                yield Static(safe(self.question, keep_newlines=True, limit=600), classes="dialog-question")
            yield Static(Text("The agent receives this text and decides what to do next."))
            area = TextArea(id="feedback", soft_wrap=True, show_line_numbers=False)
            area.cursor_blink = self.blink
            yield area
            yield Static(Text(""), id="error", classes="dialog-error")
            yield Static(Text(""), id="keys", classes="dialog-keys")

    def action_send(self) -> None:
        text = self.query_one("#feedback", TextArea).text.strip()
        if not text:
            cancel = self.key_for("cancel")
            self.query_one("#error", Static).update(Text(f"Write some feedback first, or press {cancel} to cancel."))
            return
        self.dismiss(text)
