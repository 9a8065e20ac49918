"""What every dialog shares: a centred frame, a key to cancel, key hints made from its bindings (as remapped in
`[keys]`), and the app's cursor-blink setting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from hitl_tui.ui.keys import dialog_bindings, remapped

T = TypeVar("T")


class Dialog(ModalScreen[T], Generic[T]):
    """A modal that returns a value, or None when cancelled with escape.

    Every `Static` with class `dialog-keys` is filled with the dialog's own bindings as remapped ("enter: Reject
    esc: Cancel"), so a hint can't say a key the bindings don't have, before or after a remap."""

    BINDINGS: ClassVar[list[BindingType]] = [*dialog_bindings()]

    def action_cancel(self) -> None:
        self.dismiss(None)

    @property
    def blink(self) -> bool:
        """Cursor blink off in tests, so snapshots don't depend on timing."""
        return bool(getattr(self.app, "cursor_blink", True))

    def on_mount(self) -> None:
        self.show_key_hints()

    def show_key_hints(self) -> None:
        """Write the hint line from the bindings that are active in this dialog now."""
        hints = self.key_hints()
        for shown in self.query(".dialog-keys").results(Static):
            shown.update(hints)

    def own_bindings(self) -> list[Binding]:
        """The bindings this dialog declares (its class, then its bases), with the keys `[keys]` gives
        them: also those a focused field shadows, such as enter in an Input, which then reaches the dialog as the
        field's own message."""
        found: list[Binding] = []
        for cls in type(self).__mro__:
            found.extend(Binding.make_bindings(cls.__dict__.get("BINDINGS", [])) if issubclass(cls, Dialog) else [])
        # The console app keeps the keymap it gave `set_keymap` (Textual's own copy is private).
        overrides: Mapping[str, str] = getattr(self.app, "key_overrides", {})
        return remapped(found, overrides)

    def keys_of(self, action: str) -> set[str]:
        """The keys bound to one of this dialog's actions now (after any remap)."""
        return {b.key for b in self.own_bindings() if b.action == action}

    def hint_words(self, binding: Binding) -> str:
        """What the hint line says a binding does; dialogs whose keys change meaning with their mode override it."""
        return binding.description

    def key_hints(self) -> Text:
        """`keys: what` for each of this dialog's enabled actions, in declaration order, cancel last; bindings with
        the same words share one entry ("n / esc: Cancel")."""
        grouped: dict[str, list[str]] = {}
        cancel_words: set[str] = set()
        for binding in self.own_bindings():
            words = self.hint_words(binding)
            if not words or self.check_action(binding.action, ()) is not True:
                continue
            keys = grouped.setdefault(words, [])
            if (shown := self.app.get_key_display(binding)) not in keys:
                keys.append(shown)
            if binding.action == "cancel":
                cancel_words.add(words)
        order = sorted(grouped, key=lambda words: words in cancel_words)  # stable: the rest keep their order
        return Text("   ".join(f"{' / '.join(grouped[w])}: {w}" for w in order))

    def key_for(self, action: str) -> str:
        """The key shown for an action of this dialog, for button labels (the dialog's own key before the shared
        cancel key)."""
        found = [b for b in self.own_bindings() if b.action == action]
        return self.app.get_key_display(found[0]) if found else ""
