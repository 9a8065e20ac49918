"""Every key of the console and its dialogs, declared once: id (= the name in `[keys]` of config.toml), action
and description; the defaults and scopes are in `hitl_tui.key_config`.

The footer, the `?` help screen, the palette and the dialogs' hint lines are generated from these; `config.keys` is
applied with `App.set_keymap`, which looks bindings up by id, so a remapped key changes everywhere at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding

from hitl_tui.key_config import DEFAULT_KEYS, key_name
from hitl_tui.model import DecisionKind

# Decision keys in the order the footer shows them.
DECISION_KEYS: tuple[tuple[DecisionKind, str], ...] = (
    (DecisionKind.APPROVE, "Approve"),
    (DecisionKind.REJECT, "Reject"),
    (DecisionKind.EDIT, "Edit"),
    (DecisionKind.FEEDBACK, "Feedback"),
    (DecisionKind.IGNORE, "Ignore"),
)
_TOOLTIPS = {
    DecisionKind.APPROVE: "let the selected action run as it is",
    DecisionKind.REJECT: "stop it, with a reason the agent and the audit log receive",
    DecisionKind.EDIT: "change its arguments (JSON), review the diff, then let it run",
    DecisionKind.FEEDBACK: "answer the agent in words instead of deciding",
    DecisionKind.IGNORE: "skip it, where the agent allows that",
}


# Keys that shape the list and the layout (id = action), off the footer: the help screen and palette list them.
_SHAPING = (
    ("zoom", "Zoom", "Cycle the layout: list and details, the list alone, the details alone"),
    ("details_down", "Details down", "Scroll the details half a page down without leaving the list"),
    ("details_up", "Details up", "Scroll the details half a page up without leaving the list"),
    ("sort", "Sort", "Sort the list by age, risk, deadline or graph (in turn)"),
    ("newest_first", "Newest first", "Newest first, or oldest first again"),
    ("hide_decided", "Hide decided", "Hide items already decided (or show them again)"),
)


def _key(binding_id: str) -> str:
    return DEFAULT_KEYS[binding_id]


def console_bindings() -> list[Binding]:
    """The main screen's keys."""
    bindings = [
        Binding(_key(kind.value), f"decide('{kind.value}')", label, id=kind.value, tooltip=_TOOLTIPS[kind])
        for kind, label in DECISION_KEYS
    ]
    bindings += [
        Binding(_key("next_action"), "next_action", "Next action", id="next_action",
                tooltip="Show the next action of a pause that carries several"),
        Binding(_key("filter"), "filter", "Filter", id="filter", tooltip="Filter the list by text"),
        Binding(_key("mark"), "mark", "Mark", id="mark", show=False,
                tooltip="Mark or unmark it; approve, reject and ignore then act on all marked"),
        Binding(_key("acknowledge"), "acknowledge", "Acknowledge", id="acknowledge", show=False,
                tooltip="You checked what an in-doubt resume did; its thread can be decided again"),
        *(Binding(_key(name), name, label, id=name, show=False, tooltip=tip) for name, label, tip in _SHAPING),
        Binding(_key("cursor_down"), "cursor_down", "Down", id="cursor_down", show=False),
        Binding(_key("cursor_up"), "cursor_up", "Up", id="cursor_up", show=False),
        Binding(_key("clear_filter"), "clear_filter", "Clear filter", id="clear_filter", show=False),
    ]
    return bindings


def thread_list_bindings() -> list[Binding]:
    """The list's own keys. Up and down share their ids (and words) with the screen's j/k, so one `[keys]` entry
    moves both, and help shows them as one line; without its own, the list would scroll instead of moving."""
    return [
        Binding(_key("cursor_down"), "cursor_down", "Down", id="cursor_down", show=False),
        Binding(_key("cursor_up"), "cursor_up", "Up", id="cursor_up", show=False),
        Binding(_key("page_up"), "page_up", "Page up", id="page_up", show=False),
        Binding(_key("page_down"), "page_down", "Page down", id="page_down", show=False),
        Binding(_key("first"), "first", "First", id="first", show=False),
        Binding(_key("last"), "last", "Last", id="last", show=False),
    ]


# -- dialogs: each declares its keys here; the hint line under it is made from them ------------------------------

def dialog_bindings() -> list[Binding]:
    """What every dialog shares: cancel (in the edit dialog's review, back to editing)."""
    return [Binding(_key("dialog_cancel"), "cancel", "Cancel", id="dialog_cancel")]


def confirm_bindings() -> list[Binding]:
    """A confirmation: yes, or no (as cancel does)."""
    return [
        Binding(_key("dialog_confirm"), "confirm", "Confirm", id="dialog_confirm"),
        Binding(_key("dialog_decline"), "cancel", "Cancel", id="dialog_decline"),
    ]


def reject_bindings() -> list[Binding]:
    """The reject dialog: reject with the reason typed."""
    return [Binding(_key("dialog_reject"), "reject", "Reject", id="dialog_reject")]


def feedback_bindings() -> list[Binding]:
    """The feedback dialog: send the text."""
    return [Binding(_key("dialog_send"), "send", "Send", id="dialog_send")]


def edit_bindings() -> list[Binding]:
    """The edit dialog: review the diff, then submit it (the review key submits too, once reviewing)."""
    return [
        Binding(_key("dialog_submit"), "submit", "Submit", id="dialog_submit"),
        Binding(_key("dialog_review"), "review", "Review / submit", id="dialog_review"),
        Binding(_key("dialog_editor"), "external_editor", "Open $EDITOR", id="dialog_editor"),
    ]


def help_bindings() -> list[Binding]:
    """The help screen closes with the key that opened it, and with the quit key (it quits nothing there)."""
    return [
        Binding(_key("help"), "cancel", "Close help", id="help"),
        Binding(_key("quit"), "cancel", "Close help", id="quit"),
    ]


def remapped(bindings: Iterable[Binding], overrides: Mapping[str, str]) -> list[Binding]:
    """`bindings` with the keys `[keys]` gives their ids, one binding per key, as `App.set_keymap` applies them:
    for what a dialog shows before its keys are pressed (hints, button labels)."""
    out: list[Binding] = []
    seen: set[tuple[str, str]] = set()  # a default of several keys, already split, is remapped once
    for binding in bindings:
        keys = overrides.get(binding.id) if binding.id else None
        if keys is None:
            out.append(binding)
            continue
        for key in (key_name(k) for k in keys.split(",") if k.strip()):
            if (binding.id or "", key) not in seen:
                seen.add((binding.id or "", key))
                out.append(binding.with_key(key, key_display=None))
    return out


def app_bindings() -> list[Binding]:
    """Keys that work on every screen."""
    return [
        Binding(_key("help"), "help", "Help", id="help", tooltip="Every key and what it does"),
        Binding(_key("quit"), "quit", "Quit", id="quit"),
    ]


def declared_bindings() -> list[Binding]:
    """Every binding declared here, in every scope."""
    return (console_bindings() + app_bindings() + thread_list_bindings() + dialog_bindings() + confirm_bindings()
            + reject_bindings() + feedback_bindings() + edit_bindings() + help_bindings())


def bound(binding_id: str, overrides: Mapping[str, str]) -> list[Binding]:
    """The bindings of one id as `[keys]` leaves them (one per key), for text that names a key."""
    first = next(b for b in declared_bindings() if b.id == binding_id)
    return list(Binding.make_bindings(remapped([first], overrides)))


def keymap(configured: dict[str, str]) -> dict[str, str]:
    """The keymap to give `App.set_keymap`: only ids that exist here, keys as config.toml names them."""
    known = {b.id for b in declared_bindings() if b.id}
    return {binding_id: keys for binding_id, keys in configured.items() if binding_id in known}
