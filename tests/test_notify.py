"""What the console tells the operator, decided without a UI: new items and escalations once each, the baseline
silent, desktop sequences only for terminals known to understand them, wrapped for tmux, agent text made inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hitl_tui.config import load_config
from hitl_tui.errors import ConfigError
from hitl_tui.notify import Notice, Notifier, NotifyConfig, WatchedItem, encode, parse_notify, terminal_protocol

ON = NotifyConfig(enabled=True)
UNSAFE = [chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]] + ["\u202e", "\u2066"]


def item(key: str, level: str | None = None, thread: str = "t") -> WatchedItem:
    return WatchedItem(key, thread, "send_email", level)


def test_the_first_view_is_the_baseline_and_each_event_is_told_once() -> None:
    notifier = Notifier(ON)
    assert notifier.observe([item("a"), item("b", "urgent")]) == []  # already waiting at start: silent
    assert notifier.observe([item("a"), item("b", "urgent")]) == []
    new = notifier.observe([item("a"), item("b", "urgent"), item("c", thread="t-9")])
    assert new == [Notice("new", "new: send_email on t-9")]
    steps = [notifier.observe([item("a", level), item("b", "urgent"), item("c")])
             for level in ("ok", "half", "half", "urgent", "overdue", "overdue", "urgent")]
    assert [[n.text for n in s] for s in steps] == [
        [], ["half its time gone: send_email on t"], [], ["80% of its time gone: send_email on t"],
        ["overdue: send_email on t"], [], [],
    ]
    # An item that left and comes back (paused again) is new again.
    notifier.observe([item("b", "urgent")])
    assert [n.kind for n in notifier.observe([item("a"), item("b", "urgent")])] == ["new"]


def test_switched_off_kinds_and_a_disabled_notifier_tell_nothing() -> None:
    for config in (NotifyConfig(enabled=False), NotifyConfig(enabled=True, new_items=False, escalations=False)):
        notifier = Notifier(config)
        notifier.observe([item("a")])
        assert notifier.observe([item("a", "overdue"), item("b")]) == []
    assert encode([Notice("new", "x")], NotifyConfig(enabled=False), {}) == ""


@pytest.mark.parametrize(("environ", "expected"), [
    ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, "osc9"),
    ({"TERM": "xterm-kitty"}, "osc9"),
    ({"TERM": "tmux-256color", "TMUX": "/tmp/x", "WEZTERM_PANE": "3"}, "osc9"),
    ({"TERM": "foot"}, "osc777"),
    ({"TERM": "rxvt-unicode-256color"}, "osc777"),
    ({"TERM": "xterm"}, None), ({"TERM": "screen"}, None), ({"TERM": "linux"}, None), ({}, None),
])
def test_desktop_notifications_only_for_terminals_known_to_support_them(environ: dict, expected: str | None) -> None:
    assert terminal_protocol(environ) == expected


def test_what_is_written_for_each_terminal() -> None:
    one = [Notice("new", "new: send_email on t-1")]
    assert encode(one, ON, {"TERM": "xterm"}) == "\a"  # unknown terminal: the bell only
    assert encode(one, ON, {"TERM": "xterm-kitty"}) == "\a\x1b]9;hitl-tui: new: send_email on t-1\x07"
    assert encode(one, ON, {"TERM": "foot"}) == "\a\x1b]777;notify;hitl-tui;new: send_email on t-1\x07"
    assert encode(one, NotifyConfig(enabled=True, bell=False, desktop="osc777"), {}) == (
        "\x1b]777;notify;hitl-tui;new: send_email on t-1\x07")
    assert encode(one, NotifyConfig(enabled=True, desktop="off"), {"TERM": "xterm-kitty"}) == "\a"
    tmux = encode(one, ON, {"TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0", "KITTY_WINDOW_ID": "1"})
    assert tmux == "\a\x1bPtmux;\x1b\x1b]9;hitl-tui: new: send_email on t-1\x07\x1b\\"
    many = encode([Notice("new", "new: a on t-1"), Notice("escalation", "overdue: b on t-2")], ON, {"TERM": "foot"})
    assert many.count("\a") == 2 and "2 items need you; new: a on t-1" in many  # one bell + the OSC's own BEL


def test_agent_text_cannot_escape_the_notification() -> None:
    hostile = "x\x1b]52;c;cHduZWQ=\x07\x9b31m\u202eevil"
    notifier = Notifier(ON)
    notifier.observe([])
    notices = notifier.observe([WatchedItem("k", hostile, hostile)])
    data = encode(notices, NotifyConfig(enabled=True, bell=False, desktop="osc9"), {})
    assert data.startswith("\x1b]9;") and data.endswith("\x07")
    assert not any(ch in data[4:-1] for ch in UNSAFE)  # only our own framing is a control character
    assert len(data) < 200


def test_notify_config_is_strict_and_documented_in_the_sample(tmp_path: Path) -> None:
    assert parse_notify({}) == NotifyConfig()
    assert parse_notify({"enabled": True, "desktop": "osc9"}) == NotifyConfig(enabled=True, desktop="osc9")
    for bad, message in (({"enable": True}, "Unknown key 'enable' in [notify]"),
                         ({"enabled": "yes"}, "notify.enabled must be true or false"),
                         ({"desktop": "growl"}, "notify.desktop must be")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_notify(bad)
    config = tmp_path / "config.toml"
    config.write_text('[notify]\nenabled = true\nbell = false\n')
    assert load_config(config).notify == NotifyConfig(enabled=True, bell=False)
    sample = load_config(Path(__file__).resolve().parent.parent / "config.toml")
    assert sample.notify == NotifyConfig()  # opt-in: the sample documents it, switched off
