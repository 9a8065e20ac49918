"""A payload full of terminal attacks (OSC 52/8/0, CSI 2J, 8-bit CSI, bidi controls, Rich markup, a 2 MB string,
150-deep nesting), written by a real graph into a real DB: the console shows it as text and sends none of it to
the terminal, on the main screen and in every dialog."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

from ui_fixtures import (
    ALICE,
    HOSTILE_BYTES,
    HOSTILE_THREAD,
    frozen_clock,
    loaded,
    rendered_text,
    terminal_bytes,
    wait_for,
)

from hitl_tui.config import Config
from hitl_tui.decisions.decision import Decision
from hitl_tui.model import DecisionKind
from hitl_tui.ui.app import ConsoleApp, build_app, default_sources
from hitl_tui.ui.dialogs.confirm import ConfirmDialog
from hitl_tui.ui.dialogs.edit import EditDialog
from hitl_tui.ui.dialogs.feedback import FeedbackDialog
from hitl_tui.ui.dialogs.help import HelpScreen
from hitl_tui.ui.dialogs.reject import RejectDialog

# What Textual itself writes: colours/attributes (SGR) and cursor positioning. Anything else is not ours.
_OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d+;\d+H")
_FORBIDDEN_TEXT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def hostile_app(db: Path, tmp_path: Path) -> ConsoleApp:
    config = Config(audit_log=tmp_path / "decisions.jsonl")
    return build_app(config, db, operator=ALICE, clock=frozen_clock, editor=None, cursor_blink=False,
                     sources=default_sources(config, db, ALICE, readonly=False))


def assert_nothing_leaks(app: ConsoleApp) -> None:
    """No control or bidi character in any text segment, and no escape sequence that Textual didn't make."""
    update = app.screen._compositor.render_update(full=True)
    for line in update.strips:
        for strip in line:
            for segment in strip:
                bad = _FORBIDDEN_TEXT.search(segment.text)
                assert bad is None, f"control character {bad.group()!r} in {segment.text!r}"
    leftover = _OWN_SEQUENCES.sub("", terminal_bytes(app))
    for char in HOSTILE_BYTES:
        assert char not in leftover, f"{char!r} reaches the terminal"


async def test_hostile_payload_is_shown_as_text_and_never_reaches_the_terminal(
    hostile_db: Path, tmp_path: Path
) -> None:
    app = hostile_app(hostile_db, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        item = app.console_screen.selected
        assert item is not None and item.thread.thread_id == HOSTILE_THREAD
        await pilot.pause()
        text = rendered_text(app)
        assert "\\u001b]52;c;ZWNobyBwd25lZA==\\u0007" in text  # the clipboard attack, as JSON shows it
        assert "send\\x1b[2Jmail[bold]" in text  # the action name: escape visible, markup literal
        assert "evil\\x1b]0;t\\x07-thread" in text and "evil\\x9bgraph" in text
        assert "[bold red]FAKE APPROVED[/]" in text  # markup shown literally
        assert "\\u202e" in text  # the bidi override, made visible
        assert_nothing_leaks(app)
        # Every dialog that shows agent text.
        for key, dialog in (("r", RejectDialog), ("f", FeedbackDialog), ("e", EditDialog)):
            await pilot.press(key)
            assert isinstance(app.screen, dialog)
            await pilot.pause()
            assert_nothing_leaks(app)
            if dialog is EditDialog:
                edited = app.screen.query_one("#args").text
                assert "\\u001b]52" in edited and "\\u202e" in edited  # JSON escapes: valid, and invisible no more
            await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert_nothing_leaks(app)
        await pilot.press("escape")
        # The confirmation of a high-risk decision quotes the thread, graph and action.
        risky = dataclasses.replace(item, assessment=dataclasses.replace(item.assessment, risk="high"))
        app.console_screen._confirm_then_submit(risky, [Decision(DecisionKind.APPROVE, 0)])
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert_nothing_leaks(app)


async def test_hostile_payload_reject_round_trip(hostile_db: Path, tmp_path: Path) -> None:
    """The hostile thread can still be decided; the audit pane line shows the payload's names as text."""
    app = hostile_app(hostile_db, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("r", *"no", "enter")  # risk "high\x1b[5m" is not a known high level: no confirmation
        await wait_for(pilot, lambda: app.console_screen.query_one("AuditPane").count >= 1, 60, "the audit line")
        await pilot.pause()
        assert_nothing_leaks(app)


async def test_huge_payload_does_not_stall_the_ui(hostile_db: Path, tmp_path: Path) -> None:
    app = hostile_app(hostile_db, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        started = time.perf_counter()
        for _ in range(5):
            app.console_screen._show_details()
            await pilot.pause()
        assert time.perf_counter() - started < 2.0  # details for a 2 MB payload render in well under a second each
