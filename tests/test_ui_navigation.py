"""Pilot tests: the list, the details, keys, filter, help and palette, on a real demo DB (no decisions here)."""

from __future__ import annotations

import dataclasses

from ui_fixtures import (
    DemoCopy,
    loaded,
    make_app,
    rendered_text,
    select_thread,
    wait_for,
)

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.config import DEFAULT_KEYS
from hitl_tui.model import ThreadStatus
from hitl_tui.ui.dialogs.help import HelpScreen
from hitl_tui.ui.dialogs.reject import RejectDialog


def pending_interrupts(demo: DemoCopy) -> list[tuple[str, str]]:
    reader = CheckpointReader(demo.db, demo.config)
    try:
        threads = reader.read_all().threads
    finally:
        reader.close()
    return [(t.thread_id, i.key) for t in threads if t.status is ThreadStatus.PAUSED for i in t.interrupts]


async def test_one_row_per_pending_interrupt(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        rows = [(it.thread.thread_id, it.interrupt.key) for it in app.console_screen.thread_list.items
                if it.interrupt is not None]
        assert sorted(rows) == sorted(pending_interrupts(demo))
        # Parallel approvals: one thread, two rows, each decidable on its own.
        assert sum(1 for tid, _ in rows if tid == "parallel-0001") == 2
        text = rendered_text(app)
        assert "alice@console" in text and "checkpoints.db" in text
        assert f"{len(rows)} waiting" in text


async def test_j_k_and_arrows_move_and_details_follow(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        items = app.console_screen.thread_list.items
        assert app.console_screen.selected is items[0]
        await pilot.press("j", "j", "down")
        assert app.console_screen.selected is items[3]
        await pilot.press("k", "up")
        assert app.console_screen.selected is items[1]
        await pilot.pause()
        details = rendered_text(app)
        assert items[1].thread.thread_id in details
        assert items[1].thread.checkpoint_id in details  # the checkpoint a decision acts on
        await pilot.press("end")
        assert app.console_screen.selected is items[-1]
        await pilot.press("home")
        assert app.console_screen.selected is items[0]


async def test_filter_narrows_the_list_and_escape_restores_it(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        everything = len(app.console_screen.thread_list.items)
        await pilot.press("slash", *"transfer", "enter")
        items = app.console_screen.thread_list.items
        assert 0 < len(items) < everything
        assert all("transfer" in it.haystack for it in items)
        # Two words: both must appear.
        await pilot.press("slash", "ctrl+u", *"transfer percall", "enter")
        assert [it.thread.thread_id for it in app.console_screen.thread_list.items] == ["percall-0002"]
        await pilot.press("slash", "escape")
        assert len(app.console_screen.thread_list.items) == everything
        assert app.focused is app.console_screen.thread_list


async def test_keys_that_do_not_apply_are_disabled_not_ignored(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")  # the project's payload: approve, edit, reject, feedback; no ignore
        await pilot.pause()
        active = app.screen.active_bindings
        assert active["a"].enabled and active["r"].enabled
        assert active["i"].enabled is False  # shown greyed out in the footer
        await pilot.press("i")
        assert app.console_screen.selected.local is None  # nothing was decided
        select_thread(app, "inbox-0001")  # Agent Inbox with allow_ignore
        await pilot.pause()
        assert app.screen.active_bindings["i"].enabled is True
        assert "next_action" not in {b.binding.action for b in app.screen.active_bindings.values()}
        select_thread(app, "batch-0001")  # several actions: tab moves between them
        await pilot.pause()
        assert app.screen.active_bindings["tab"].enabled is True


async def test_readonly_console_has_no_decision_keys(demo: DemoCopy) -> None:
    app = make_app(demo, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        actions = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not any(a.startswith("decide") for a in actions)
        await pilot.press("a", "r")
        await pilot.pause()
        assert not isinstance(app.screen, RejectDialog)
        assert "READ-ONLY" in rendered_text(app)
        assert not demo.outbox_lines() and not demo.audit_records()


async def test_help_is_generated_from_the_bindings_and_follows_the_keymap(demo: DemoCopy) -> None:
    keys = dict(DEFAULT_KEYS, approve="y", reject="x")
    app = make_app(demo, config=dataclasses.replace(demo.config, keys=keys))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        entries = {e.description: e.keys for e in app.screen.entries}
        assert entries["Approve"] == ("y",)
        assert entries["Reject"] == ("x",)
        assert entries["Down"] == ("j", "↓") or "j" in entries["Down"]
        assert "Quit" in entries and "Filter" in entries and "Help" in entries
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("x")  # the remapped reject key opens the reject dialog
        assert isinstance(app.screen, RejectDialog)
        await pilot.press("escape")
        await pilot.press("r")  # the old key does nothing now
        assert not isinstance(app.screen, RejectDialog)


async def test_palette_keeps_textual_system_commands_and_adds_ours(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Theme", "Quit", "Keys", "Screenshot"} <= set(titles)
        assert {"Approve", "Reject", "Filter", "Help"} <= set(titles)
        assert "Ignore" not in titles  # not allowed for the selected item
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette", what="the palette")
        await pilot.press("escape")


async def test_q_quits_with_exit_code_zero(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: app._exit, what="the app to exit")
    assert app.return_code == 0


async def test_everything_fits_at_80x24(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        assert app.screen.has_class("-narrow")
        text = rendered_text(app)
        for needed in ("Status", "Thread", "Action", "Waited", "Details", "Audit log", "Approve", "Quit"):
            assert needed in text, needed
        await pilot.press("j", "r")
        assert isinstance(app.screen, RejectDialog)
        assert "reason" in rendered_text(app)
