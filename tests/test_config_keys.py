"""`[keys]`: a key bound to two actions is a config error, for the console and the CLI alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from hitl_tui.cli.main import main
from hitl_tui.config import load_config
from hitl_tui.errors import ConfigError
from hitl_tui.key_config import DEFAULT_KEYS, check_key_clashes, key_name


def write(tmp_path: Path, keys: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\ndb = "{tmp_path / "agents.db"}"\n\n[keys]\n{keys}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("keys", "sentence"),
    [
        ('approve = "r"', "Key 'r' is bound to both approve and reject in [keys]; give each action its own key."),
        ('quit = "j"', "Key 'j' is bound to both quit and cursor_down in [keys]; give each action its own key."),
        ('filter = "?"', "Key 'question_mark' is bound to both filter and help in [keys]; give each action its "
                         "own key."),
        ('mark = "x, ctrl+X"\nedit = "Ctrl+X"', "Key 'ctrl+X' is bound to both edit and mark in [keys]; give each "
                                                "action its own key."),
    ],
)
def test_a_key_bound_to_two_actions_is_refused_in_one_sentence(tmp_path: Path, keys: str, sentence: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, keys))
    assert err.value.message == sentence


def test_swapping_two_keys_is_fine(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, 'approve = "r"\nreject = "a"\ncursor_down = "j, down, ctrl+n"'))
    assert (config.keys["approve"], config.keys["reject"]) == ("r", "a")


def test_the_defaults_have_no_clash_and_names_match_textuals() -> None:
    check_key_clashes(DEFAULT_KEYS)
    from textual.keys import _character_to_key

    for char in "?/!@-+_.;:'\"#$%&*()[]{}<>|\\~`^=":
        assert key_name(char) == _character_to_key(char), char


@pytest.mark.parametrize("command", [[], ["list"], ["approve", "T"], ["worker", "--once"]])
def test_console_and_cli_stop_with_the_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = write(tmp_path, 'approve = "r"')
    assert main(["--config", str(config), *command]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("hitl-tui: Key 'r' is bound to both approve and reject in [keys]; give each action its "
                            "own key.\n")
