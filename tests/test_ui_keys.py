"""Every key, the dialogs' included, is declared once with an id and remappable from `[keys]`; the dialogs' hint
lines are made from the bindings as remapped: after a remap they name the new key, and the old one does nothing."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from textual.binding import Binding
from ui_fixtures import DemoCopy, details_text, loaded_on, make_app, rendered_text, wait_for

from hitl_tui.config import load_config
from hitl_tui.errors import ConfigError
from hitl_tui.key_config import DEFAULT_KEYS, KEY_SCOPES, types_a_character
from hitl_tui.ui.app import ConsoleApp
from hitl_tui.ui.dialogs.base import Dialog
from hitl_tui.ui.dialogs.confirm import ConfirmDialog
from hitl_tui.ui.dialogs.edit import EditDialog
from hitl_tui.ui.dialogs.feedback import FeedbackDialog
from hitl_tui.ui.dialogs.help import HelpScreen
from hitl_tui.ui.dialogs.reject import RejectDialog
from hitl_tui.ui.screens.console import ConsoleScreen
from hitl_tui.ui.widgets.thread_list import ThreadList

SCOPE_CLASSES: dict[str, tuple[type, ...]] = {
    "the console": (ConsoleScreen, ConsoleApp, ThreadList),
    "the confirmation": (ConfirmDialog,),
    "the reject dialog": (RejectDialog,),
    "the feedback dialog": (FeedbackDialog,),
    "the edit dialog": (EditDialog,),
    "the help screen": (HelpScreen,),
}


def our_bindings(cls: type) -> list[Binding]:
    """The bindings a class and its bases in this project declare (not Textual's own, such as ctrl+q)."""
    found: list[Binding] = []
    for base in cls.__mro__:
        if base.__module__.startswith("hitl_tui.") and "BINDINGS" in base.__dict__:
            found.extend(Binding.make_bindings(base.__dict__["BINDINGS"]))
    return found


@pytest.mark.parametrize("scope", list(KEY_SCOPES))
def test_each_screen_declares_exactly_its_scope_and_every_binding_has_an_id(scope: str) -> None:
    bindings = [b for cls in SCOPE_CLASSES[scope] for b in our_bindings(cls)]
    assert [b for b in bindings if b.id is None] == []  # an id-less key could not be remapped
    assert {b.id for b in bindings} == set(KEY_SCOPES[scope])
    for b in bindings:
        # The default is the one in key_config, not a second copy.
        assert b.key in DEFAULT_KEYS[b.id or ""].split(","), b.id


def test_every_key_id_is_in_a_scope() -> None:
    assert {i for ids in KEY_SCOPES.values() for i in ids} == set(DEFAULT_KEYS)
    assert issubclass(HelpScreen, Dialog)


def write(tmp_path: Path, keys: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\ndb = "{tmp_path / "agents.db"}"\n\n[keys]\n{keys}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("keys", "sentence"),
    [
        ('dialog_review = "ctrl+o"', "Key 'ctrl+o' is bound to both dialog_review and dialog_editor in [keys] (both "
                                     "act in the edit dialog); give each action its own key."),
        ('dialog_confirm = "n"', "Key 'n' is bound to both dialog_confirm and dialog_decline in [keys] (both act in "
                                 "the confirmation); give each action its own key."),
        ('dialog_cancel = "enter"', "Key 'enter' is bound to both dialog_reject and dialog_cancel in [keys] (both "
                                    "act in the reject dialog); give each action its own key."),
        ('quit = "escape"', "Key 'escape' is bound to both quit and clear_filter in [keys]; give each action its own "
                            "key."),
        ('help = "escape"', "Key 'escape' is bound to both help and clear_filter in [keys]; give each action its own "
                            "key."),
        ('dialog_reject = "y"', "Key 'y' for dialog_reject in [keys] would be typed into the reason field of the "
                                "reject dialog; give it a key with ctrl, or a function key."),
        ('dialog_cancel = "?"', "Key 'question_mark' for dialog_cancel in [keys] would be typed into the reason "
                                "field of the reject dialog; give it a key with ctrl, or a function key."),
        ('dialog_review = "ctrl+s, space"', "Key 'space' for dialog_review in [keys] would be typed into the JSON "
                                            "being edited of the edit dialog; give it a key with ctrl, or a function "
                                            "key."),
        ('approve = "ctrl+p"', "Key 'ctrl+p' is bound to both the command palette (Textual's own) and approve in "
                               "[keys]; give each action its own key."),
    ],
)
def test_a_dialog_key_bound_to_two_of_its_actions_is_refused(tmp_path: Path, keys: str, sentence: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, keys))
    assert err.value.message == sentence


def test_the_same_key_in_two_scopes_is_fine(tmp_path: Path) -> None:
    # y: sort in the console, yes in a confirmation; ctrl+r: send feedback, review an edit; the review's submit
    # key acts while the diff (no text field) has the focus; quit may keep Textual's ctrl+q.
    config = load_config(write(tmp_path, 'dialog_send = "ctrl+r"\ndialog_review = "ctrl+r"\nsort = "y"\n'
                                         'dialog_submit = "s"\nquit = "q, ctrl+q"'))
    assert config.keys["dialog_send"] == config.keys["dialog_review"] == "ctrl+r"


@pytest.mark.parametrize("key", ["a", "A", "question_mark", "space", "plus", "slash", "shift+a", "é"])
def test_keys_that_type_a_character(key: str) -> None:
    assert types_a_character(key)


@pytest.mark.parametrize("key", ["enter", "escape", "tab", "f2", "ctrl+s", "alt+a", "up", "pagedown", "home", "end",
                                 "backspace", "delete", "insert"])
def test_keys_that_type_nothing(key: str) -> None:
    assert not types_a_character(key)


def remapped_app(demo: DemoCopy, **keys: str) -> ConsoleApp:
    return make_app(demo, config=dataclasses.replace(demo.config, keys=dict(DEFAULT_KEYS, **keys)))


async def test_reject_dialog_hint_and_keys_follow_a_remap(demo: DemoCopy) -> None:
    app = remapped_app(demo, dialog_reject="ctrl+r", dialog_cancel="ctrl+g")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, RejectDialog)
        await pilot.pause()
        assert str(dialog.key_hints()) == "^r: Reject   ^g: Cancel"
        assert "^r: Reject   ^g: Cancel" in rendered_text(app)
        await pilot.press("n", "o", "enter", "escape")  # the old keys do nothing now
        await pilot.pause()
        assert app.screen is dialog and dialog.query_one("#reason").value == "no"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.screen is not dialog, 5, "the remapped key to reject")


async def test_edit_dialog_hints_follow_a_remap_in_both_modes(demo: DemoCopy) -> None:
    app = remapped_app(demo, dialog_review="ctrl+r", dialog_submit="ctrl+y", dialog_cancel="ctrl+g")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, EditDialog)
        await pilot.pause()
        assert "^r: Review changes   ^g: Cancel" in rendered_text(app)  # no $EDITOR here, so no ^o
        dialog.query_one("#args").load_text('{"to": "ops@example.com", "subject": "x", "body": "y"}')  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("ctrl+s")  # the old key does nothing
        assert not dialog.reviewing
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert dialog.reviewing and "^y / ^r: Submit the edit   ^g: Back to editing" in rendered_text(app)
        await pilot.press("ctrl+g")
        assert not dialog.reviewing and isinstance(app.screen, EditDialog)


async def test_confirm_and_help_follow_a_remap(demo: DemoCopy) -> None:
    app = remapped_app(demo, dialog_confirm="o", dialog_decline="x", help="f1")
    async with app.run_test(size=(140, 44)) as pilot:
        await loaded_on(pilot, "email-0001")
        item = next(it for it in app.console_screen.thread_list.items if it.high_risk and it.pending)
        app.console_screen.thread_list.select_key(item.key)
        await pilot.pause()
        await pilot.press("a")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        await pilot.pause()
        shown = rendered_text(app)
        assert "o: Confirm   x / esc: Cancel" in shown and "Cancel (x)" in shown and "Confirm (o)" in shown
        await pilot.press("n", "y")  # the old keys do nothing
        assert app.screen is dialog
        await pilot.press("x")
        assert app.screen is app.console_screen
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        assert "f1 / q / esc: Close help" in rendered_text(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert app.screen is app.console_screen


async def test_the_filter_bar_names_its_keys_as_remapped(demo: DemoCopy) -> None:
    app = remapped_app(demo, filter="ctrl+f", clear_filter="ctrl+g")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        await pilot.press("ctrl+f")
        await pilot.pause()
        shown = rendered_text(app)
        assert "^f" in shown and "filter: words that must all appear (^g clears)" in shown
        assert app.key_label("cursor_down") == "j / ↓" and app.key_label("quit") == "q"



async def test_the_details_name_the_next_action_key_as_remapped(demo: DemoCopy) -> None:
    app = remapped_app(demo, next_action="ctrl+t")
    async with app.run_test(size=(140, 44)) as pilot:
        await loaded_on(pilot, "batch-0001")  # several actions
        await wait_for(pilot, lambda: "^t: next action" in details_text(app), 5, "the details")
        assert "tab: next action" not in details_text(app)


def test_the_readme_names_every_key_id() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert [i for i in DEFAULT_KEYS if f"`{i}`" not in readme] == []


def test_the_sample_config_lists_every_key_with_its_default() -> None:
    sample = tomllib.loads((Path(__file__).parent.parent / "config.toml").read_text(encoding="utf-8"))
    assert sample["keys"] == DEFAULT_KEYS
