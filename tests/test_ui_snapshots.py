"""SVG snapshots of the screens an operator sees, in snapshots/test_ui_snapshots/.

Real demo data read by the real reader; `StableSource` pins checkpoint ids and times, the clock is frozen, the
operator is injected, animations and cursor blink are off, and every picture has a fixed terminal size.
Update after a deliberate change with `pytest tests/test_ui_snapshots.py --snapshot-update`, and look at them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ui_fixtures import (
    ALICE,
    FROZEN,
    DemoCopy,
    StableSource,
    frozen_clock,
    loaded,
    make_app,
    select_thread,
    settled,
    write_hostile_db,
)

from hitl_tui.audit import AuditLog
from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.config import Config
from hitl_tui.ui.app import Sources, build_app

WIDE = (120, 40)
SMALL = (80, 24)


def with_audit_lines(demo: DemoCopy) -> None:
    """Two audit records written by the real log with a frozen clock (as another console would)."""
    ticks = iter([FROZEN - timedelta(minutes=3), FROZEN - timedelta(minutes=2), FROZEN - timedelta(minutes=1)])
    log = AuditLog(demo.audit, clock=lambda: next(ticks), operator=ALICE)
    log.append({"event": "decision", "actor": ALICE, "decision": "approve", "thread_id": "email-0009",
                "action": "send_email"})
    log.append({"event": "outcome", "actor": ALICE, "decision": "approve", "thread_id": "email-0009",
                "action": "send_email", "outcome": "finished"})


def select(thread_id: str, *keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        select_thread(pilot.app, thread_id)
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await settled(pilot)

    return run_before


async def just_loaded(pilot: Any) -> None:
    await loaded(pilot)
    await pilot.pause(0.05)


def test_main_screen(snap_compare: Any, demo: DemoCopy) -> None:
    with_audit_lines(demo)
    app = make_app(demo, stable=True, audit=True)

    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.pause(0.3)  # the audit watcher's first read (polls every 0.25 s)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_main_screen_80x24(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=SMALL, run_before=just_loaded)


def test_multi_action_pause(snap_compare: Any, demo: DemoCopy) -> None:
    """A middleware batch: three actions, the second shown, the first already decided (staged)."""
    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE, run_before=select("batch-0001", "a"))


def test_reject_dialog(snap_compare: Any, demo: DemoCopy) -> None:
    """Enter with no reason: the dialog says a reason is required."""
    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE,
                        run_before=select("email-0002", "r", "enter"))


def test_edit_dialog_with_a_validation_error(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await select("email-0001", "e")(pilot)
        pilot.app.screen.query_one("#args").load_text('{\n  "to": "dana@example.com",\n  "subject": \n}')
        await pilot.pause()

    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE, run_before=run_before)


def test_edit_dialog_diff_before_submit(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await select("email-0001", "e")(pilot)
        area = pilot.app.screen.query_one("#args")
        area.load_text(area.text.replace("dana@example.com", "ops@example.com"))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE, run_before=run_before)


def test_feedback_dialog(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE,
                        run_before=select("email-0002", "f", *"Make it shorter and more formal."))


def test_confirm_dialog_for_a_high_risk_action(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE, run_before=select("plan-0001", "a"))


def test_help_screen(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE, press=["question_mark"],
                        run_before=just_loaded)


def test_help_screen_80x24(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=SMALL, press=["question_mark"],
                        run_before=just_loaded)


def test_filtered_list(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"transfer", "enter")
        await settled(pilot)  # the filter moved the cursor: the new row's recent messages are read

    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE, run_before=run_before)


def test_readonly_observer(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True, readonly=True), terminal_size=SMALL, run_before=just_loaded)


def test_hostile_payload(snap_compare: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """OSC/CSI/bidi/markup in every field: all of it visible as text, none of it interpreted."""
    monkeypatch.chdir(tmp_path)
    write_hostile_db(tmp_path / "hostile.db")
    db = Path("hostile.db")
    config = Config(audit_log=tmp_path / "decisions.jsonl")
    def source() -> StableSource:
        return StableSource(CheckpointReader(db, config))

    sources = Sources(threads=source, records=None, desk=None, audit_tail=None, context=source)
    app = build_app(config, db, operator=ALICE, clock=frozen_clock, sources=sources, editor=None, cursor_blink=False)
    assert snap_compare(app, terminal_size=WIDE, run_before=just_loaded)
