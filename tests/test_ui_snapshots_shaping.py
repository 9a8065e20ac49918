"""Snapshots of the states issue 10 added: deadlines due, urgent and overdue; the list sorted by risk, newest first;
the zoom layouts at 80x24; a four-eyes vote and a reject as another console shows them. Same rules as
test_ui_snapshots.py: real demo data, stable ids and times, a frozen clock, fixed sizes. Update with
`--snapshot-update` after a deliberate change, and look at the pictures."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ui_fixtures import (
    ALICE,
    BOB,
    FROZEN,
    DemoCopy,
    StableSource,
    frozen_clock,
    loaded,
    make_app,
    select_thread,
    settled,
    wait_for,
)

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.config import Config
from hitl_tui.decisions.decision import Decision
from hitl_tui.decisions.ledger import LedgerView
from hitl_tui.decisions.state import open_votes
from hitl_tui.model import DecisionKind
from hitl_tui.ui.app import Sources, build_app

WIDE = (120, 40)
SMALL = (80, 24)


def press_after_load(*keys: str, thread: str = "email-0002") -> Any:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        select_thread(pilot.app, thread)
        await pilot.pause()
        await pilot.press(*keys)
        await settled(pilot)

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


class StableLedger:
    """The real ledger, read through LedgerView, with checkpoint ids mapped the way StableSource maps them."""

    def __init__(self, db: Path, config: Config) -> None:
        reader = CheckpointReader(db, config)
        try:
            threads = sorted(reader.read_all().threads, key=lambda t: (t.checkpoint_id, t.thread_id))
        finally:
            reader.close()
        self.ids = {t.checkpoint_id: f"1f0e2a00-0000-6000-8000-{i:012d}" for i, t in enumerate(threads)}
        self.view = LedgerView(db)

    def recent(self, limit: int = 500) -> list[Any]:
        return [dataclasses.replace(r, checkpoint_id=self.ids.get(r.checkpoint_id, r.checkpoint_id), decided_at=FROZEN)
                for r in self.view.recent_records(limit)]

    def votes(self) -> dict[Any, Any]:
        return {(t, self.ids.get(c, c), k): v for (t, c, k), v in open_votes(self.view.connection).items()}

    def close(self) -> None:
        self.view.close()


def test_a_four_eyes_vote_and_a_reject_seen_from_another_console(snap_compare: Any, demo: DemoCopy) -> None:
    """What another console shows: alice's approval 1/2 of the critical transfer (selected), a reject by bob."""
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.policy.requirements import requirements_for

    reader = CheckpointReader(demo.db, demo.config)
    transfer = reader.thread("subgraph-0002")
    email = reader.thread("email-0002")
    reader.close()
    assert transfer is not None and email is not None
    for who, thread, decision in ((ALICE, transfer, Decision(DecisionKind.APPROVE)),
                                  (BOB, email, Decision(DecisionKind.REJECT, text="wrong recipient"))):
        desk = DecisionDesk(demo.config, demo.db, who, resume_in_process=False,
                            requirements=requirements_for(demo.config))
        try:
            desk.decide(thread, thread.interrupts[0], [decision])
        finally:
            desk.close()
    db = Path("checkpoints.db")
    def source() -> StableSource:
        return StableSource(CheckpointReader(db, demo.config))

    sources = Sources(threads=source, records=lambda: StableLedger(db, demo.config), desk=None, audit_tail=None,
                      context=source)
    app = build_app(demo.config, db, operator=BOB, clock=frozen_clock, readonly=True, sources=sources, editor=None,
                    cursor_blink=False)

    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        await wait_for(pilot, lambda: any(it.voters for it in pilot.app.console_screen.book.items.values()), 10,
                       "the vote")
        select_thread(pilot.app, "subgraph-0002")
        await settled(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)
