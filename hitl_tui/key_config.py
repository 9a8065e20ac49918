"""The `[keys]` of config.toml: every key id with its default, which ids act together (a scope), and the check that
refuses a key bound to two actions of one scope. No Textual here; `hitl_tui.ui.keys` builds the bindings from these.

Scopes exist because dialogs take the keyboard while they are open: the console's `n` (newest first) and the
confirmation's `n` (no) never meet, so both may keep it, while two actions of one dialog may not share a key.
"""

from __future__ import annotations

import unicodedata

from hitl_tui.errors import ConfigError

DEFAULT_KEYS: dict[str, str] = {
    "approve": "a",
    "reject": "r",
    "edit": "e",
    "feedback": "f",
    "ignore": "i",
    "filter": "slash",
    "help": "question_mark",
    "quit": "q",
    "cursor_down": "j,down",
    "cursor_up": "k,up",
    "next_action": "tab",
    "mark": "space",
    "acknowledge": "exclamation_mark",
    "zoom": "plus",
    "details_down": "ctrl+d",
    "details_up": "ctrl+u",
    "sort": "s",
    "newest_first": "n",
    "hide_decided": "h",
    "page_down": "pagedown",
    "page_up": "pageup",
    "first": "home",
    "last": "end",
    "clear_filter": "escape",
    # Dialogs (each a scope of its own; dialog_cancel works in all of them, the help screen included).
    "dialog_cancel": "escape",
    "dialog_confirm": "y",
    "dialog_decline": "n",
    "dialog_reject": "enter",
    "dialog_send": "ctrl+s",
    "dialog_review": "ctrl+s",
    "dialog_submit": "enter",
    "dialog_editor": "ctrl+o",
}

_CONSOLE = tuple(k for k in DEFAULT_KEYS if not k.startswith("dialog_"))

# Where each id acts: the console (with the keys that work on every screen) and each dialog. The UI declares its
# bindings from these, and a test checks that each screen's bindings are exactly its scope.
KEY_SCOPES: dict[str, tuple[str, ...]] = {
    "the console": _CONSOLE,
    "the confirmation": ("dialog_confirm", "dialog_decline", "dialog_cancel"),
    "the reject dialog": ("dialog_reject", "dialog_cancel"),
    "the feedback dialog": ("dialog_send", "dialog_cancel"),
    "the edit dialog": ("dialog_submit", "dialog_review", "dialog_editor", "dialog_cancel"),
    "the help screen": ("help", "quit", "dialog_cancel"),  # the keys that open help and quit also close it
}

# Dialogs whose text field has the focus while these keys are meant to work: a key that types a character would
# land in the field instead (Textual lets a focused field take printable keys first).
TYPED_INTO: dict[str, tuple[str, tuple[str, ...]]] = {
    "the reject dialog": ("the reason field", ("dialog_reject", "dialog_cancel")),
    "the feedback dialog": ("the feedback text", ("dialog_send", "dialog_cancel")),
    "the edit dialog": ("the JSON being edited", ("dialog_review", "dialog_editor", "dialog_cancel")),
}

# Textual's own keys, live on every screen ahead of ours (priority bindings): another action there would never run.
TEXTUAL_KEYS = {"ctrl+q": "quit", "ctrl+p": "the command palette"}

# Textual's names for characters whose Unicode names it shortens (textual.keys.KEY_NAME_REPLACEMENTS).
_KEY_NAME_REPLACEMENTS = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
                          "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}


def key_name(key: str) -> str:
    """One key as the console matches it: `?` and `question_mark` are the same key, `Ctrl+A` is `ctrl+A`."""
    *modifiers, last = key.strip().split("+") if key.strip() != "+" else ["+"]
    if len(last) == 1 and not last.isalnum():
        try:
            name = unicodedata.name(last).lower().replace("-", "_").replace(" ", "_")
            last = _KEY_NAME_REPLACEMENTS.get(name, name)
        except ValueError:  # a character without a Unicode name: keep it as written
            pass
    return "+".join([*(m.strip().lower() for m in modifiers), last])


def types_a_character(key: str) -> bool:
    """Whether a key (as `key_name` writes it) types a character into a text field: `x`, `question_mark`, `space`;
    not `enter`, `escape`, `tab`, `f2` or anything with ctrl or alt."""
    *modifiers, last = key.split("+") if key != "+" else ["+"]
    if any(m not in ("shift",) for m in modifiers):
        return False
    if len(last) == 1:
        return last.isprintable()
    unicode_name = {v: k for k, v in _KEY_NAME_REPLACEMENTS.items()}.get(last, last).replace("_", " ")
    try:
        return unicodedata.lookup(unicode_name).isprintable()  # "ESCAPE", "TAB": aliases of control characters
    except KeyError:
        return False  # enter, up, home, f1, pagedown: no character


def check_key_clashes(keys: dict[str, str]) -> None:
    """A key bound to two actions of one scope would silently do only one of them: refuse the config instead
    (ConfigError). So is a key Textual keeps for itself on every screen, and a dialog key that would be typed into
    the dialog's text field. Ids outside every scope (a caller's own) are checked together, as one scope."""
    for scope, (field_name, ids) in TYPED_INTO.items():
        for action in (i for i in ids if i in keys):
            for key in (key_name(k) for k in keys[action].split(",") if k.strip()):
                if types_a_character(key):
                    raise ConfigError(f"Key {key!r} for {action} in [keys] would be typed into {field_name} of "
                                      f"{scope}; give it a key with ctrl, or a function key.")
    scoped = {i for ids in KEY_SCOPES.values() for i in ids}
    scopes = [*KEY_SCOPES.items(), ("", tuple(i for i in keys if i not in scoped))]
    for scope, ids in scopes:
        owner = {key: f"{what} (Textual's own)" for key, what in TEXTUAL_KEYS.items()}
        for action in (i for i in ids if i in keys):
            for key in {key_name(k) for k in keys[action].split(",") if k.strip()}:
                if owner.get(key) == f"{action} (Textual's own)":
                    continue  # quit on ctrl+q too: the same action
                if key in owner:
                    where = "" if scope in ("", "the console") else f" (both act in {scope})"
                    raise ConfigError(f"Key {key!r} is bound to both {owner[key]} and {action} in [keys]{where}; "
                                      "give each action its own key.")
                owner[key] = action
