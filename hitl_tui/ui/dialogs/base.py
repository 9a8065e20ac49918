"""What every dialog shares: a centred frame, escape to cancel, and the app's cursor-blink setting."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

T = TypeVar("T")


class Dialog(ModalScreen[T], Generic[T]):
    """A modal that returns a value, or None when cancelled with escape."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    @property
    def blink(self) -> bool:
        """Cursor blink off in tests, so snapshots don't depend on timing."""
        return bool(getattr(self.app, "cursor_blink", True))
