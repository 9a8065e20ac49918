"""Wrong-item hazards, pressed with real keys on real demo data through the real desk: a refused decision keeps the
cursor on its item, decided items take no decision key, every dialog names the thread, the action and its key
arguments, and a bulk confirmation says WHICH items are high risk. Plus the shared four-eyes state: a second console
shows the first console's approval (read from the ledger, not from the console's memory)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ui_fixtures import (
    ALICE,
    BOB,
    FROZEN,
    DemoCopy,
    details_text,
    frozen_clock,
    loaded,
    loaded_on,
    make_app,
    rendered_text,
    select_thread,
    wait_for,
)

from hitl_tui.checkpoints.reader import CheckpointReader, ReadResult
from hitl_tui.console.review_items import ReviewItem
from hitl_tui.decisions.decision import Decision
from hitl_tui.model import DecisionKind
from hitl_tui.ui.app import ConsoleApp, Sources, build_app, default_sources
from hitl_tui.ui.dialogs.confirm import ConfirmDialog
from hitl_tui.ui.dialogs.edit import EditDialog
from hitl_tui.ui.dialogs.feedback import FeedbackDialog
from hitl_tui.ui.dialogs.reject import RejectDialog

DECIDE_TIMEOUT = 60.0  # the first resume in a process loads LangGraph and the demo graph
ALL_KINDS = [k.value for k in DecisionKind]


class FrozenView:
    """The real reader, read once and never polled: a console whose view lags behind the DB (a slow poll, a busy
    machine), so the desk, not the console, is what finds out that somebody else decided first."""

    def __init__(self, reader: CheckpointReader) -> None:
        self.reader = reader

    def read_all(self) -> ReadResult:
        return self.reader.read_all()

    def poll(self) -> ReadResult | None:
        return None

    def close(self) -> None:
        self.reader.close()


def lagging_app(demo: DemoCopy) -> ConsoleApp:
    """A console with a real desk whose list never hears of other consoles' decisions."""
    db = Path("checkpoints.db")
    real = default_sources(demo.config, db, BOB, readonly=False)
    sources = Sources(threads=lambda: FrozenView(CheckpointReader(db, demo.config)), records=None, desk=real.desk,
                      audit_tail=None)
    return build_app(demo.config, db, operator=BOB, clock=frozen_clock, sources=sources, editor=None,
                     cursor_blink=False)


def decide_elsewhere(demo: DemoCopy, thread_id: str, kind: DecisionKind = DecisionKind.APPROVE) -> None:
    """Another operator's desk (alice's, as a second console or the CLI would) decides first; recorded only."""
    from hitl_tui.decisions.desk import DecisionDesk

    reader = CheckpointReader(demo.db, demo.config)
    thread = reader.thread(thread_id)
    reader.close()
    assert thread is not None
    desk = DecisionDesk(demo.config, demo.db, ALICE, resume_in_process=False)
    try:
        desk.decide(thread, thread.interrupts[0], [Decision(kind, 0, text="no" if kind is DecisionKind.REJECT
                                                            else None)])
    finally:
        desk.close()


def item_of(app: ConsoleApp, thread_id: str) -> ReviewItem:
    return next(it for it in app.console_screen.thread_list.items if it.thread.thread_id == thread_id)


async def test_a_refused_decision_keeps_the_cursor_on_its_item(demo: DemoCopy) -> None:
    app = lagging_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        decide_elsewhere(demo, "email-0001")  # this console doesn't know; its `a` is still enabled
        key = app.console_screen.selected.key
        await pilot.press("a")
        await wait_for(pilot, lambda: key in app.console_screen._notes, DECIDE_TIMEOUT, "the refusal")
        note = app.console_screen._notes[key]
        assert note.startswith("Refused") and "alice@console" in note
        assert app.console_screen.selected.key == key  # NOT moved on: a second `a` must not approve another item
        assert item_of(app, "email-0001").status == "refused"


async def test_an_accepted_decision_moves_the_cursor_on_to_a_waiting_item(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        key = app.console_screen.selected.key
        await pilot.press("a")
        await wait_for(pilot, lambda: app.console_screen.selected.key != key, DECIDE_TIMEOUT, "moving on")
        assert app.console_screen.selected.decidable


async def test_decision_keys_are_disabled_on_decided_items(demo: DemoCopy) -> None:
    decide_elsewhere(demo, "email-0002", DecisionKind.REJECT)
    app = make_app(demo, operator=BOB)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: item_of(app, "email-0002").record is not None, 10, "alice's reject")
        select_thread(app, "email-0002")
        await pilot.pause()
        screen = app.console_screen
        assert [screen.check_action("decide", (k,)) for k in ALL_KINDS] == [None] * len(ALL_KINDS)
        assert screen.check_action("mark", ()) is None
        for key in ("a", "r", "e", "f", "i"):
            await pilot.press(key)
            assert app.screen is screen  # no dialog opened
        assert screen.selected.local is None and screen.selected.thread.thread_id == "email-0002"
        # The details say who rejected it and why.
        text = details_text(app)
        assert "rejected by alice@console" in text and "Reason: no" in text
        # A waiting item next to it still takes them.
        select_thread(app, "email-0001")
        await pilot.pause()
        assert screen.check_action("decide", ("approve",)) is True


async def test_every_decision_dialog_names_the_thread_the_action_and_its_arguments(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(140, 44)) as pilot:
        await loaded(pilot)
        item = next(it for it in app.console_screen.thread_list.items
                    if it.action_label == "transfer" and it.high_risk)
        app.console_screen.thread_list.select_key(item.key)
        await pilot.pause()
        amount = str(item.actions[0].args["amount"])
        for key, dialog in (("a", ConfirmDialog), ("r", RejectDialog), ("f", FeedbackDialog), ("e", EditDialog)):
            await pilot.press(key)
            assert isinstance(app.screen, dialog), key
            await pilot.pause()
            shown = rendered_text(app)
            assert item.thread.thread_id in shown and "transfer" in shown and f"amount={amount}" in shown, key
            await pilot.press("escape")
            assert not isinstance(app.screen, dialog)


async def test_dialog_key_hints_come_from_the_bindings(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RejectDialog)
        reject = next(b for b in dialog.own_bindings() if b.action == "reject")
        assert str(dialog.key_hints()) == f"{app.get_key_display(reject)}: Reject   esc: Cancel"
        assert str(dialog.key_hints()) in rendered_text(app)
        app.screen.query_one("#reason").value = "not now"  # type: ignore[attr-defined]
        await pilot.press("enter")  # the binding the hint names really rejects
        await wait_for(pilot, lambda: not isinstance(app.screen, RejectDialog), 5, "the dialog to close")


async def test_a_bulk_confirmation_lists_which_items_are_high_risk(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(140, 44)) as pilot:
        await loaded(pilot)
        items = app.console_screen.thread_list.items
        risky = next(it for it in items if it.action_label == "transfer" and it.needs_confirmation)
        calm = next(it for it in items if it.thread.thread_id == "email-0001")
        for it in (calm, risky):
            app.console_screen.thread_list.select_key(it.key)
            await pilot.press("space")
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmDialog)
        lines = rendered_text(app).splitlines()
        assert any("1 of them high risk" in line for line in lines)
        flagged = [line for line in lines if risky.thread.thread_id in line]
        plain = [line for line in lines if " email-0001 " in line and "approve" not in line]
        assert any("! " + risky.thread.thread_id in line for line in flagged)
        assert plain and not any("! email-0001" in line for line in plain)
        await pilot.press("n")  # cancelled: nothing decided
        assert demo.audit_records() == []


async def test_a_second_console_shows_the_first_consoles_four_eyes_approval(demo: DemoCopy) -> None:
    first, second = make_app(demo), make_app(demo, operator=BOB)
    async with first.run_test(size=(120, 40)) as pilot_one, second.run_test(size=(120, 40)) as pilot_two:
        await loaded(pilot_one)
        await loaded(pilot_two)
        item = next(it for it in first.console_screen.thread_list.items if it.approvals_needed == 2)
        first.console_screen.thread_list.select_key(item.key)
        await pilot_one.press("a", "y")
        await wait_for(pilot_one, lambda: first.console_screen.book.items[item.key].status == "approved 1/2",
                       DECIDE_TIMEOUT, "alice's vote in her console")
        # The first console moved on; back on the item, it may not approve twice, but it may still reject.
        assert first.console_screen.selected.key != item.key
        first.console_screen.thread_list.select_key(item.key)
        await pilot_one.pause()
        assert first.console_screen.check_action("decide", ("approve",)) is None
        assert first.console_screen.check_action("decide", ("reject",)) is True

        def in_second() -> Any:
            return second.console_screen.book.items[item.key].status == "approved 1/2"

        await wait_for(pilot_two, in_second, 10, "the vote in the other console")
        second.console_screen.thread_list.select_key(item.key)
        await pilot_two.pause()
        assert "alice@console" in details_text(second) and "1 of 2 approvals" in details_text(second)
        assert second.console_screen.check_action("decide", ("approve",)) is True  # bob may approve


async def test_the_details_follow_the_clock_like_the_list(demo: DemoCopy) -> None:
    """No frozen "paused 24s ago" next to a list saying 31s: both are redrawn from the same clock tick."""
    from datetime import timedelta

    clock = [FROZEN]
    db = Path("checkpoints.db")
    app = build_app(demo.config, db, operator=ALICE, clock=lambda: clock[0], editor=None, cursor_blink=False,
                    sources=default_sources(demo.config, db, ALICE, readonly=True), readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        item = app.console_screen.selected
        clock[0] = item.thread.paused_at + timedelta(seconds=24)
        app.console_screen._tick()
        await pilot.pause()
        assert "paused 24s ago" in details_text(app) and " 24s " in rendered_text(app)
        clock[0] += timedelta(seconds=7)
        app.console_screen._tick()
        await pilot.pause()
        assert "paused 31s ago" in details_text(app) and " 31s " in rendered_text(app)
        # Deadlines: time of day and relative ("in ...", later "overdue ...").
        assert re.search(r"deadline \d\d:\d\d:\d\d UTC \(in 23h59m", details_text(app))
        clock[0] += timedelta(days=1)
        app.console_screen._tick()
        await pilot.pause()
        assert re.search(r"deadline \d\d:\d\d:\d\d UTC \(overdue \d+s\)", details_text(app))


async def test_letters_typed_right_after_slash_never_decide(demo: DemoCopy) -> None:
    """`/approve` arriving in one burst (a fast typist, a paste, tmux send-keys): before the fix the letters after
    `/` reached the list and `a` approved the selected item. They must never act as decision keys."""
    from textual import events

    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        for ch in "/approve":
            app.post_message(events.Key("slash" if ch == "/" else ch, ch))
        await wait_for(pilot, lambda: app.focused is app.console_screen.query_one("#filter"), 5, "the filter")
        await pilot.pause()  # every key handled (a submission would show at once as "submitting…")
        assert app.screen is app.console_screen  # no reject or edit dialog either
        assert app.console_screen.selected.local is None and demo.audit_records() == []


async def test_the_details_read_the_selected_threads_messages_and_say_when_they_cant(demo: DemoCopy) -> None:
    """The listing keeps no chat history: the pane reads it for the row under the cursor, in the context thread.
    When that read fails, the pane says why in one line instead of showing nothing."""
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        text = details_text(app)
        assert "Recent messages" in text and "can't be read" not in text
        assert "Recent messages" in text.split("Arguments", 1)[1]  # after the action, as before

    db = Path("checkpoints.db")
    real = default_sources(demo.config, db, BOB, readonly=True)
    broken = Sources(threads=real.threads, records=None, desk=None, audit_tail=None,
                     context=lambda: CheckpointReader(Path("moved-away.db"), demo.config))
    app = build_app(demo.config, db, operator=BOB, clock=frozen_clock, readonly=True, sources=broken, editor=None,
                    cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        text = details_text(app)
        assert "Recent messages" in text and "can't be read: moved-away.db does not exist" in text
        assert "send_email" in text  # the rest of the pane is there as ever
