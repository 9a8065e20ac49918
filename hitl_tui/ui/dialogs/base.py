"""What every dialog shares: a centred frame, escape to cancel, key hints made from its bindings, and the app's
cursor-blink setting."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

T = TypeVar("T")


class Dialog(ModalScreen[T], Generic[T]):
    """A modal that returns a value, or None when cancelled with escape.

    A `Static` with class `dialog-keys` and id `keys` is filled with the dialog's own bindings ("enter: Reject
    esc: Cancel"), so a hint can't say a key the bindings don't have."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

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
        hints = self.query("#keys")
        if hints:
            hints.first(Static).update(self.key_hints())

    def own_bindings(self) -> list[Binding]:
        """The bindings this dialog declares (its class and its bases, bases first): also those a focused field
        shadows, such as enter in an Input, which then reaches the dialog as the field's own message."""
        found: list[Binding] = []
        for cls in reversed(type(self).__mro__):
            found.extend(Binding.make_bindings(cls.__dict__.get("BINDINGS", [])) if issubclass(cls, Dialog) else [])
        return found

    def key_hints(self) -> Text:
        """`keys: what` for each of this dialog's enabled actions, in declaration order, cancel last."""
        grouped: dict[str, tuple[list[str], str]] = {}
        for binding in self.own_bindings():
            if not binding.description or not binding.show or self.check_action(binding.action, ()) is not True:
                continue
            keys = grouped.get(binding.action, ([], ""))[0]
            keys.append(self.app.get_key_display(binding))
            grouped[binding.action] = (keys, binding.description)  # the subclass's words over the shared escape's
        order = sorted(grouped, key=lambda action: action == "cancel")  # stable: the rest keep their order
        return Text("   ".join(f"{' / '.join(grouped[a][0])}: {grouped[a][1]}" for a in order))

    def key_for(self, action: str) -> str:
        """The key shown for an action of this dialog, for button labels (the dialog's own key before escape)."""
        found = [b for b in self.own_bindings() if b.action == action]
        found.sort(key=lambda binding: binding.id is None)
        return self.app.get_key_display(found[0]) if found else ""
