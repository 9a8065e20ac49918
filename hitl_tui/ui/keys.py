"""Every key of the console, declared once: id (= the name in `[keys]` of config.toml), action and description.

The footer, the `?` help screen and the palette are generated from these; `config.keys` is applied with
`App.set_keymap`, which looks bindings up by id, so a remapped key changes everywhere at once.
"""

from __future__ import annotations

from textual.binding import Binding

from hitl_tui.config import DEFAULT_KEYS
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
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    return bindings


def app_bindings() -> list[Binding]:
    """Keys that work on every screen."""
    return [
        Binding(_key("help"), "help", "Help", id="help", tooltip="Every key and what it does"),
        Binding(_key("quit"), "quit", "Quit", id="quit"),
    ]


def keymap(configured: dict[str, str]) -> dict[str, str]:
    """The keymap to give `App.set_keymap`: only ids that exist here, keys as config.toml names them."""
    known = {b.id for b in console_bindings() + app_bindings() if b.id}
    return {binding_id: keys for binding_id, keys in configured.items() if binding_id in known}
