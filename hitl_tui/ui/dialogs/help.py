"""The `?` screen: every key that works here, generated from the active bindings (so remapped keys show as
remapped), with what it does and whether it applies to the selected item right now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from hitl_tui.key_config import DEFAULT_KEYS
from hitl_tui.ui.dialogs.base import Dialog
from hitl_tui.ui.keys import help_bindings

_NOT_OURS = ("scroll_", "page_left", "page_right")


@dataclass(frozen=True)
class HelpEntry:
    keys: tuple[str, ...]
    description: str
    tooltip: str
    enabled: bool


def help_entries(
    active: Mapping[str, ActiveBinding], key_display, first: Sequence[str] = ()  # type: ignore[no-untyped-def]
) -> list[HelpEntry]:
    """One entry per action, its keys merged ("j / ↓"); bindings whose id is in `first` lead, in that order."""
    merged: dict[tuple[str, str], list[str]] = {}
    info: dict[tuple[str, str], tuple[Binding, bool, str]] = {}
    rank: dict[tuple[str, str], int] = {}
    for active_binding in active.values():
        binding = active_binding.binding
        if not binding.description or binding.system or binding.action.startswith(_NOT_OURS):
            continue  # Textual's scrolling keys don't apply to the list
        ident = (binding.action, binding.description)
        merged.setdefault(ident, []).append(key_display(binding))
        info.setdefault(ident, (binding, active_binding.enabled, active_binding.tooltip))
        if binding.id is not None and binding.id in first:
            rank[ident] = min(rank.get(ident, len(first)), list(first).index(binding.id))
    ordered = sorted(merged, key=lambda ident: rank.get(ident, len(first)))  # stable: the rest keep their order
    return [HelpEntry(tuple(merged[i]), i[1], info[i][2], info[i][1]) for i in ordered]


class HelpScreen(Dialog[None]):
    """Keys, generated; any key listed as closing it closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [*help_bindings()]

    def hint_words(self, binding: Binding) -> str:
        return "Close help" if binding.action == "cancel" else binding.description

    def __init__(self, entries: list[HelpEntry], *, readonly: bool) -> None:
        super().__init__()
        self.entries = entries
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-dialog"):
            yield Static(Text("Keys"), classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table())
                yield Static(Text(self._notes()), id="help-notes")
            yield Static(Text(""), id="keys", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def _table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
        table.add_column("Key", no_wrap=True)
        table.add_column("Does")
        table.add_column("Now", no_wrap=True)
        for entry in self.entries:
            what = Text(entry.description)
            if entry.tooltip:
                what.append(f" — {entry.tooltip}", style="dim")
            table.add_row(Text(" / ".join(entry.keys)), what, Text("yes" if entry.enabled else "n/a",
                                                                   style="" if entry.enabled else "dim"))
        return table

    def _notes(self) -> str:
        lines = [
            f"Keys are remappable in config.toml under [keys] ({', '.join(DEFAULT_KEYS)}).",
            "A pause with several actions: tab moves between them; each is decided on its own, and the pause is"
            " answered when every action has a decision.",
            "Marked items: approve, reject (one reason) or ignore acts on all of them, after one confirmation.",
            "Decisions on high-risk actions ask for confirmation. \"n/a\" marks keys that don't apply to the"
            " selected item.",
        ]
        if self.readonly:
            lines.append("This console is read-only: it shows everything and decides nothing.")
        return "\n".join(lines)
