"""Snapshots of the states issue 10 added: deadlines due, urgent and overdue; the list sorted by risk, newest first;
and the zoom layouts at 80x24. Same rules as test_ui_snapshots.py: real demo data, stable ids and times, a frozen
clock, fixed sizes. Update with `--snapshot-update` after a deliberate change, and look at the pictures."""

from __future__ import annotations

import dataclasses
from typing import Any

from ui_fixtures import DemoCopy, loaded, make_app, select_thread

WIDE = (120, 40)
SMALL = (80, 24)


def press_after_load(*keys: str, thread: str = "email-0002") -> Any:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        select_thread(pilot.app, thread)
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


def test_deadlines_due_urgent_and_overdue(snap_compare: Any, demo: DemoCopy) -> None:
    """Half an hour for anything without a deadline of its own: the oldest items are overdue."""
    policy = dataclasses.replace(demo.config.policy, default_deadline_seconds=1800)
    app = make_app(demo, stable=True, config=dataclasses.replace(demo.config, policy=policy))
    assert snap_compare(app, terminal_size=WIDE, run_before=press_after_load(thread="email-0001"))


def test_sorted_by_risk_newest_first(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=WIDE, run_before=press_after_load("s", "n"))


def test_zoom_list_80x24(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=SMALL, run_before=press_after_load("plus"))


def test_zoom_details_80x24(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo, stable=True), terminal_size=SMALL,
                        run_before=press_after_load("plus", "plus"))
