"""Edit an action's arguments as JSON: validated as you type, reviewed as a diff against the original before it is
submitted, and editable in `$VISUAL`/`$EDITOR` (the console steps aside while the editor runs)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TextArea

from hitl_tui.console.edit_json import ParsedEdit, diff_lines, editable_json, parse_edit
from hitl_tui.console.shown import safe
from hitl_tui.safe_text import visible
from hitl_tui.ui.dialogs.base import Dialog
from hitl_tui.ui.keys import edit_bindings


def editor_command(environ: dict[str, str] | None = None) -> str | None:
    """The operator's editor, as the environment names it."""
    env = os.environ if environ is None else environ
    return env.get("VISUAL") or env.get("EDITOR") or None


class EditDialog(Dialog[Any]):
    """Returns the edited arguments (already validated and reviewed), or None when cancelled."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"edit-dialog--added", "edit-dialog--removed", "edit-dialog--hunk"}

    BINDINGS: ClassVar[list[BindingType]] = [*edit_bindings()]
    # The hint line's words in each mode (editing, reviewing): the review key submits once the diff is shown.
    HINTS: ClassVar[dict[bool, dict[str, str]]] = {
        False: {"review": "Review changes", "external_editor": "Open $EDITOR", "cancel": "Cancel"},
        True: {"submit": "Submit the edit", "review": "Submit the edit", "cancel": "Back to editing"},
    }

    def __init__(
        self, action_name: str, args: Any, *, require_object: bool, editor: str | None,
        check: Callable[[Any], str | None] | None = None, outlook: Callable[[Any], str] | None = None,
        subject: Text | None = None,
    ) -> None:
        """`check` says why edited arguments can't be sent (the tool's schema), `outlook` what the policy makes
        of them (their risk, approvals needed): both are asked before anything is submitted."""
        super().__init__()
        self.check = check
        self.outlook = outlook
        self.action_name = action_name
        self.subject = subject  # "Edit transfer on thread X (graph): amount=..." (which item this is)
        self.original = args
        self.require_object = require_object
        self.editor = editor
        self.reviewing = False
        self._parsed = ParsedEdit(value=args)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="edit-dialog"):
            title = Text("Edit the arguments of ")
            title.append_text(safe(self.action_name, limit=60))
            yield Static(self.subject or title, classes="dialog-title")
            with Vertical(id="edit-pane"):
                # tab_behavior "focus": in "indent" mode the TextArea would swallow escape.
                area = TextArea(editable_json(self.original), id="args", soft_wrap=True, show_line_numbers=True)
                area.cursor_blink = self.blink
                yield area
                yield Static(Text(""), id="error", classes="dialog-error")
                yield Static(Text(""), id="outlook")  # the policy's view of the edited arguments
                yield Static(Text(""), classes="dialog-keys")  # filled from the bindings (see hint_words)
            with Vertical(id="review-pane"):
                yield Static(Text("These changes will be submitted:"))
                yield Static(Text(""), id="review-outlook")
                with VerticalScroll(id="diff-scroll"):
                    yield Static(Text(""), id="diff")
                yield Static(Text(""), classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#review-pane").display = False
        self.query_one("#args", TextArea).focus()

    def hint_words(self, binding: Binding) -> str:
        return self.HINTS[self.reviewing].get(binding.action, "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "external_editor":
            return None if (self.editor is None or self.reviewing) else True
        if action == "submit":
            return self.reviewing
        return True

    # -- validation --------------------------------------------------------------------------------------------

    @on(TextArea.Changed, "#args")
    def validate(self) -> None:
        parsed = parse_edit(self.query_one("#args", TextArea).text, require_object=self.require_object)
        problem = self.check(parsed.value) if parsed.ok and self.check is not None else None
        self._parsed = ParsedEdit(error=problem) if problem else parsed
        self._show_error(self._parsed.error)
        outlook = Text(self.outlook(parsed.value)) if self._parsed.ok and self.outlook is not None else Text("")
        for pane in ("#outlook", "#review-outlook"):
            shown = self.query_one(pane, Static)
            shown.update(outlook)
            shown.display = bool(outlook.plain)  # no blank row when there is nothing to say

    def _show_error(self, message: str | None) -> None:
        self.query_one("#error", Static).update(Text(message or ""))

    # -- review and submit -------------------------------------------------------------------------------------

    def action_review(self) -> None:
        if self.reviewing:
            self.action_submit()
            return
        self.validate()
        if not self._parsed.ok:
            return
        lines = diff_lines(self.original, self._parsed.value)
        if not lines:
            cancel = self.key_for("cancel")
            self._show_error(f"Nothing was changed; edit the JSON, or press {cancel} and approve as it is.")
            return
        self.query_one("#diff", Static).update(self._diff_text(lines))
        self._set_reviewing(True)

    def action_submit(self) -> None:
        if self.reviewing and self._parsed.ok:
            self.dismiss(self._parsed.value)

    def action_cancel(self) -> None:
        if self.reviewing:
            self._set_reviewing(False)
        else:
            self.dismiss(None)

    def _set_reviewing(self, on: bool) -> None:
        self.reviewing = on
        self.query_one("#edit-pane").display = not on
        self.query_one("#review-pane").display = on
        (self.query_one("#diff-scroll") if on else self.query_one("#args", TextArea)).focus()
        self.refresh_bindings()
        self.show_key_hints()

    def _diff_text(self, lines: list[str]) -> Text:
        out = Text()
        for i, line in enumerate(lines):
            if i:
                out.append("\n")
            style = ""
            if line.startswith("@@"):
                style = "edit-dialog--hunk"
            elif line.startswith("+") and not line.startswith("+++"):
                style = "edit-dialog--added"
            elif line.startswith("-") and not line.startswith("---"):
                style = "edit-dialog--removed"
            out.append(visible(line), style=self.get_component_rich_style(style) if style else "")
        return out

    # -- $EDITOR -----------------------------------------------------------------------------------------------

    def action_external_editor(self) -> None:
        if not self.editor:
            return
        area = self.query_one("#args", TextArea)
        fd, name = tempfile.mkstemp(prefix="hitl-edit-", suffix=".json")
        path = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(area.text)
            try:
                with self.app.suspend():
                    code = subprocess.call([*shlex.split(self.editor), str(path)])
            except SuspendNotSupported:
                self._show_error("This terminal can't hand over to $EDITOR; edit the JSON here instead.")
                return
            except OSError as err:
                self._show_error(f"$EDITOR ({self.editor}) could not be started: {err.strerror}.")
                return
            if code != 0:
                self._show_error(f"$EDITOR exited with status {code}; the text here is unchanged.")
                return
            area.load_text(path.read_text(encoding="utf-8", errors="replace"))
            self.validate()
        finally:
            path.unlink(missing_ok=True)
