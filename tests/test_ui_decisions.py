"""Pilot tests that press the real keys and check what happened where it matters: the outbox (the agent's side
effect), the audit log and the checkpoint DB. Decisions go through the real desk and resume the real demo graphs."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

from ui_fixtures import (
    BOB,
    DemoCopy,
    details_text,
    loaded,
    make_app,
    rendered_text,
    select_thread,
    wait_for,
)

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.decisions.decision import DecisionState
from hitl_tui.ui.dialogs.confirm import ConfirmDialog
from hitl_tui.ui.dialogs.edit import EditDialog
from hitl_tui.ui.dialogs.feedback import FeedbackDialog
from hitl_tui.ui.dialogs.reject import RejectDialog

DECIDE_TIMEOUT = 60.0  # the first resume in a process loads LangGraph and the demo graph


def effects(demo: DemoCopy, thread_id: str) -> list[dict]:
    return [line for line in demo.outbox_lines() if line.get("thread_id") == thread_id]


def audit_events(demo: DemoCopy, thread_id: str) -> list[tuple[str, str | None]]:
    return [(r.get("event"), r.get("decision")) for r in demo.audit_records() if r.get("thread_id") == thread_id]


def still_waiting(demo: DemoCopy, thread_id: str) -> bool:
    reader = CheckpointReader(demo.db, demo.config)
    try:
        thread = next((t for t in reader.read_all().threads if t.thread_id == thread_id), None)
    finally:
        reader.close()
    return thread is not None and bool(thread.interrupts)


def row_status(app, thread_id: str) -> str:  # type: ignore[no-untyped-def]
    rows = [it for it in app.console_screen.thread_list.items if it.thread.thread_id == thread_id]
    return " ".join(it.status for it in rows)


async def test_approve_runs_the_effect_once_and_is_audited(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        await pilot.press("a")
        await wait_for(pilot, lambda: row_status(app, "email-0001") == "resumed", DECIDE_TIMEOUT, "resumed")
        assert len(effects(demo, "email-0001")) == 1
        assert effects(demo, "email-0001")[0]["effect"] == "send_email"
        events = audit_events(demo, "email-0001")
        assert ("decision", "approve") in events
        assert any(e == "outcome" for e, _ in events)
        # The audit pane shows what the log says, and the cursor moved on to the next waiting item.
        await wait_for(pilot, lambda: "thread=email-0001" in rendered_text(app), 5, "the audit pane line")
        assert app.console_screen.selected.thread.thread_id != "email-0001"
        # The decided item takes no decision key any more (tests/test_ui_hazards.py has the refusals).
        select_thread(app, "email-0001")
        await pilot.pause()
        assert app.console_screen.check_action("decide", ("approve",)) is None
        await pilot.press("a")
        await pilot.pause()
        assert app.console_screen.selected.local is None and len(effects(demo, "email-0001")) == 1


async def test_reject_needs_a_reason_and_never_runs_the_action(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0002")
        await pilot.press("r")
        assert isinstance(app.screen, RejectDialog)
        await pilot.press("enter")  # empty: refused by the dialog
        assert isinstance(app.screen, RejectDialog)
        assert "A reason is required" in rendered_text(app)
        await pilot.press(*"wrong recipient", "enter")
        assert not isinstance(app.screen, RejectDialog)
        await wait_for(pilot, lambda: ("decision", "reject") in audit_events(demo, "email-0002"),
                       DECIDE_TIMEOUT, "the reject in the audit log")
        await wait_for(pilot, lambda: not still_waiting(demo, "email-0002"), DECIDE_TIMEOUT, "the thread to resume")
        assert effects(demo, "email-0002") == []
        record = next(r for r in demo.audit_records() if r.get("decision") == "reject")
        assert "wrong recipient" in str(record.get("text"))


async def test_escape_cancels_a_dialog_and_nothing_is_decided(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        for key, dialog in (("r", RejectDialog), ("f", FeedbackDialog), ("e", EditDialog)):
            await pilot.press(key)
            assert isinstance(app.screen, dialog)
            await pilot.press("escape")
            assert not isinstance(app.screen, dialog)
        assert app.console_screen.selected.local is None
        assert demo.audit_records() == [] and still_waiting(demo, "email-0001")


async def test_edit_validates_shows_a_diff_and_sends_the_edited_args(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, EditDialog)
        area = dialog.query_one("#args")
        area.load_text('{"to": "dana@example.com", "subject": "x",}')
        await pilot.pause()
        assert "Not valid JSON" in rendered_text(app)
        await pilot.press("ctrl+s")  # invalid: stays in the editor
        assert not dialog.reviewing
        area.load_text('["not", "an", "object"]')
        await pilot.pause()
        assert "must be a JSON object" in rendered_text(app)
        area.load_text('{"to": "ops@example.com", "subject": "Edited", "body": "Short."}')
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert dialog.reviewing
        diff = rendered_text(app)
        assert '+  "to": "ops@example.com"' in diff and '-  "to": "dana@example.com"' in diff
        await pilot.press("escape")  # back to editing, nothing sent
        assert not dialog.reviewing and isinstance(app.screen, EditDialog)
        await pilot.press("ctrl+s", "enter")
        assert not isinstance(app.screen, EditDialog)
        await wait_for(pilot, lambda: effects(demo, "email-0001"), DECIDE_TIMEOUT, "the edited effect")
        assert effects(demo, "email-0001")[0]["args"]["to"] == "ops@example.com"
        assert ("decision", "edit") in audit_events(demo, "email-0001")


async def test_edit_in_external_editor_is_offered_only_when_editor_is_set(demo: DemoCopy) -> None:
    app = make_app(demo, editor=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        await pilot.press("e")
        assert app.screen.active_bindings["ctrl+o"].enabled is False
    app = make_app(demo, editor="true")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        await pilot.press("e")
        assert app.screen.active_bindings["ctrl+o"].enabled is True
        await pilot.press("ctrl+o")  # the headless test driver can't hand the terminal over: said so, not crashed
        assert "can't hand over" in rendered_text(app)


async def test_feedback_is_sent_to_the_agent(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0002")
        await pilot.press("f")
        assert isinstance(app.screen, FeedbackDialog)
        await pilot.press("ctrl+s")  # empty: not sent
        assert "Write some feedback" in rendered_text(app)
        await pilot.press(*"make it shorter", "ctrl+s")
        assert not isinstance(app.screen, FeedbackDialog)
        await wait_for(pilot, lambda: ("decision", "feedback") in audit_events(demo, "email-0002"),
                       DECIDE_TIMEOUT, "the feedback in the audit log")
        assert effects(demo, "email-0002") == []


async def test_high_risk_approval_asks_for_confirmation(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "plan-0001")  # a $2,500 transfer behind a static breakpoint, risk high
        assert app.console_screen.selected.high_risk
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmDialog)
        assert demo.audit_records() == []
        await pilot.press("a", "y")
        await wait_for(pilot, lambda: effects(demo, "plan-0001"), DECIDE_TIMEOUT, "the transfer")
        assert len(effects(demo, "plan-0001")) == 1


async def test_each_action_of_a_batch_is_decided_on_its_own(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "batch-0001")
        item = app.console_screen.selected
        names = [a.name for a in item.actions]
        assert len(names) == 3
        await pilot.press("tab")
        assert "action 2 of 3" in rendered_text(app)
        await pilot.press("tab", "tab")  # wraps round to the first
        assert "action 1 of 3" in rendered_text(app)
        await pilot.press("a")  # action 1: approve, staged
        assert "1/3 decided" in row_status(app, "batch-0001")
        assert demo.audit_records() == []  # nothing is submitted before every action has a decision
        await pilot.press("r", *"not this one", "enter")  # action 2: reject
        await pilot.press("a")  # action 3: approve -> the whole pause is answered ...
        assert isinstance(app.screen, ConfirmDialog)  # ... after confirming: the policy marks transfers high risk
        await pilot.press("y")
        await wait_for(pilot, lambda: any(e == "decision" for e, _ in audit_events(demo, "batch-0001")),
                       DECIDE_TIMEOUT, "the batch decision")
        await wait_for(pilot, lambda: len(effects(demo, "batch-0001")) == 2, DECIDE_TIMEOUT, "two effects")
        done = {line["effect"] for line in effects(demo, "batch-0001")}
        assert done == {names[0], names[2]}


async def test_parallel_interrupts_are_decided_independently(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        rows = [it for it in app.console_screen.thread_list.items if it.thread.thread_id == "parallel-0001"]
        assert len(rows) == 2
        grant = next(it for it in rows if it.actions[0].name == "grant_access")
        app.console_screen.thread_list.select_key(grant.key)
        await pilot.press("a")
        await wait_for(pilot, lambda: effects(demo, "parallel-0001"), DECIDE_TIMEOUT, "grant_access ran")
        assert [e["effect"] for e in effects(demo, "parallel-0001")] == ["grant_access"]
        await wait_for(pilot, lambda: any(it.thread.thread_id == "parallel-0001" and it.pending and it.record is None
                                          for it in app.console_screen.thread_list.items), 10, "the other still waits")


async def test_a_second_operator_is_refused_with_who_decided(demo: DemoCopy) -> None:
    first = make_app(demo)
    async with first.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(first, "email-0002")
        seen_by_bob = first.console_screen.selected  # what the second console shows before alice decides
        await pilot.press("a")
        await wait_for(pilot, lambda: effects(demo, "email-0002"), DECIDE_TIMEOUT, "alice's approval")
    second = make_app(demo, operator=BOB)
    async with second.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        # Bob's console lists it as decided by alice (the ledger says so) ...
        book = second.console_screen.book.items.values()
        assert not any(it.thread.thread_id == "email-0002" and it.pending for it in book)
        # ... and a decision on what bob saw before is refused with alice's name.
        second.submit_decision(seen_by_bob.key, seen_by_bob.thread, seen_by_bob.interrupt,
                               (dataclasses.replace(_approve()),))
        await wait_for(pilot, lambda: seen_by_bob.key in second.console_screen._notes, DECIDE_TIMEOUT, "refusal")
        note = second.console_screen._notes[seen_by_bob.key]
        assert note.startswith("Refused") and "alice@console" in note
    assert len(effects(demo, "email-0002")) == 1


def _approve():  # type: ignore[no-untyped-def]
    from hitl_tui.decisions.decision import Decision
    from hitl_tui.model import DecisionKind

    return Decision(DecisionKind.APPROVE, 0)


async def test_unwritable_audit_log_decides_nothing_and_says_why(demo: DemoCopy) -> None:
    """No side effect runs while its audit trail can't be written: the console is told why, nothing is recorded."""
    blocked = demo.directory / "audit-is-a-folder"
    blocked.mkdir()
    app = make_app(demo, config=dataclasses.replace(demo.config, audit_log=blocked))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        screen = app.console_screen
        key = screen.selected.key
        await pilot.press("a")
        await wait_for(pilot, lambda: "Nothing was decided" in screen._notes.get(key, ""),
                       DECIDE_TIMEOUT, "the refusal on screen")
        assert "audit-is-a-folder" in screen._notes[key]
        assert not effects(demo, "email-0001")
        rec = next(it.record for it in screen.thread_list.items if it.thread.thread_id == "email-0001")
        assert rec is None


def test_decisions_never_use_a_path_of_their_own() -> None:
    """The console hands decisions to the desk; it has no SQL or resume code of its own."""
    import hitl_tui.ui as ui

    for path in Path(ui.__file__).parent.rglob("*.py"):
        text = path.read_text()
        assert "INSERT" not in text and "Command(resume" not in text, path


async def test_four_eyes_needs_a_second_operator(demo: DemoCopy) -> None:
    """The demo policy wants two approvals for transfers over 10,000: one console's approval is a vote only."""
    first = make_app(demo)
    async with first.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        item = next(it for it in first.console_screen.thread_list.items if it.approvals_needed == 2)
        first.console_screen.thread_list.select_key(item.key)
        await pilot.pause()
        assert "needs 2 approvals from different operators" in details_text(first)
        await pilot.press("a", "y")  # critical: confirm first
        await wait_for(pilot, lambda: item.key in first.console_screen._notes, DECIDE_TIMEOUT, "the vote")
        assert "1 of 2" in first.console_screen._notes[item.key]
        assert effects(demo, item.thread.thread_id) == []
    second = make_app(demo, operator=BOB)
    async with second.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        second.console_screen.thread_list.select_key(item.key)
        await pilot.press("a", "y")
        await wait_for(pilot, lambda: effects(demo, item.thread.thread_id), DECIDE_TIMEOUT, "the transfer")
    assert len(effects(demo, item.thread.thread_id)) == 1


async def test_an_observer_sees_who_decided_and_never_writes(demo: DemoCopy) -> None:
    import sqlite3

    from hitl_tui.decisions.desk import DecisionDesk

    def our_tables() -> list[str]:
        with sqlite3.connect(demo.directory / "checkpoints.db") as conn:
            return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'hitl_%'")]

    observer = make_app(demo, readonly=True)
    async with observer.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert our_tables() == []  # watching a DB nobody decided in creates nothing in it
    db = demo.directory / "checkpoints.db"
    reader = CheckpointReader(db, demo.config)
    thread = reader.thread("email-0001")
    reader.close()
    assert thread is not None
    desk = DecisionDesk(demo.config, db, BOB, resume_in_process=False)  # recorded; a worker would resume it
    desk.decide(thread, thread.interrupts[0], [_approve()])
    desk.close()
    observer = make_app(demo, readonly=True)
    async with observer.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)

        def bobs_record() -> Any:
            return next((it.record for it in observer.console_screen.thread_list.items
                         if it.thread.thread_id == "email-0001" and it.record is not None), None)

        record = await wait_for(pilot, bobs_record, DECIDE_TIMEOUT, "the observer showing bob's decision")
        assert record.operator == BOB.display


def shown_row(app, thread_id: str) -> str:  # type: ignore[no-untyped-def]
    """The thread's row as the screen shows it."""
    return next(line for line in rendered_text(app).splitlines() if thread_id in line)


async def test_marked_items_are_decided_together_after_one_confirmation(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        await pilot.press("space")  # marks email-0001 and moves down to email-0002
        assert "■ marked" in shown_row(app, "email-0001")
        select_thread(app, "email-0002")
        await pilot.press("space", "space")  # email-0002 marked, the next one too ...
        select_thread(app, "email-0002")
        await pilot.press("space")  # ... and email-0002 unmarked again
        assert "■ marked" not in shown_row(app, "email-0002")
        select_thread(app, "email-0002")
        await pilot.press("space")
        marked = sorted(app.console_screen.thread_list.marked)
        assert len(marked) == 3
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmDialog)
        assert "3 marked item(s)" in rendered_text(app)
        await pilot.press("n")  # cancelled: nothing decided, the marks stay
        assert demo.audit_records() == [] and sorted(app.console_screen.thread_list.marked) == marked
        await pilot.press("a", "y")
        threads = {item.thread.thread_id for item in app.console_screen.thread_list.items if item.key in marked}
        await wait_for(pilot, lambda: {r["thread_id"] for r in demo.audit_records() if r["event"] == "decision"}
                       == threads, DECIDE_TIMEOUT, "all three decisions in the audit log")
        assert app.console_screen.thread_list.marked == set()
        for tid in threads:
            assert [d for e, d in audit_events(demo, tid) if e == "decision"] == ["approve"]


async def test_marked_items_are_rejected_with_one_reason(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        await pilot.press("space", "space")  # email-0001 and email-0002
        await pilot.press("r")
        assert isinstance(app.screen, RejectDialog) and "2 marked item(s)" in rendered_text(app)
        await pilot.press(*"not today", "enter")
        await wait_for(pilot, lambda: len([r for r in demo.audit_records() if r["event"] == "decision"]) == 2,
                       DECIDE_TIMEOUT, "both rejections")
        assert {r["text"] for r in demo.audit_records() if r["event"] == "decision"} == {"not today"}
        assert effects(demo, "email-0001") == [] and effects(demo, "email-0002") == []


def _in_doubt(demo: DemoCopy, thread_id: str) -> str:
    """A decision whose resumer died mid-run (claimed elsewhere, settled as in doubt): its thread is blocked."""
    from hitl_tui.decisions.ledger import DecisionLedger
    from hitl_tui.identity import Operator

    reader = CheckpointReader(demo.db, demo.config)
    thread = reader.thread(thread_id)
    reader.close()
    assert thread is not None
    ledger = DecisionLedger(demo.db, demo.config)
    who = Operator(uid=4242, user="olivia", host="elsewhere")
    rows = ledger.submit(thread, [(thread.interrupts[0], [_approve()])], who, claimant="elsewhere|1|1|a-boot")
    ledger.finish(rows, DecisionState.IN_DOUBT,  # type: ignore[arg-type]
                  error="the resumer died while the agent may have been running; check its side effects")
    ledger.close()
    return rows[0].decision_id  # type: ignore[union-attr]


async def test_an_in_doubt_resume_is_acknowledged_from_the_console(demo: DemoCopy) -> None:
    decision_id = _in_doubt(demo, "email-0001")
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0002")  # an item that is not in doubt: nothing to acknowledge
        assert app.screen.active_bindings["exclamation_mark"].enabled is False
        select_thread(app, "email-0001")
        await wait_for(pilot, lambda: "in doubt" in shown_row(app, "email-0001"), DECIDE_TIMEOUT, "the in-doubt row")
        await pilot.press("exclamation_mark")
        assert isinstance(app.screen, ConfirmDialog) and "check its side effects" in rendered_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "doubt checked" in shown_row(app, "email-0001"), DECIDE_TIMEOUT, "the ack")
        with sqlite3.connect(demo.db) as conn:
            assert conn.execute("SELECT decision_id FROM hitl_acks").fetchall() == [(decision_id,)]
        await wait_for(pilot, lambda: ("acknowledged", None) in audit_events(demo, "email-0001"),
                       DECIDE_TIMEOUT, "the acknowledgement in the audit log")
        assert app.screen.active_bindings["exclamation_mark"].enabled is False  # once is enough


async def test_an_edit_is_judged_by_the_policy_on_its_new_arguments(demo: DemoCopy) -> None:
    """Editing a $2,500 transfer to $50,000: the dialog shows the resulting risk and approvals, the confirmation
    names it, and the decision needs a second operator (the demo rule for transfers over 10,000)."""
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "plan-0001")
        item = app.console_screen.selected
        assert item.approvals_needed == 1 and item.risk == "high"
        edited = {**item.actions[0].args, "amount": 50000}
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, EditDialog)
        dialog.query_one("#args").load_text(json.dumps(edited))
        await pilot.pause()
        assert "Risk with these arguments: critical; needs 2 approvers; asks for confirmation." in rendered_text(app)
        await pilot.press("ctrl+s", "enter")
        assert isinstance(app.screen, ConfirmDialog) and "critical" in rendered_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "approved 1/2" in row_status(app, "plan-0001"), DECIDE_TIMEOUT, "the vote")
        assert effects(demo, "plan-0001") == []  # one operator is not enough for what would run


async def test_an_edit_the_schema_refuses_is_shown_in_the_dialog(demo: DemoCopy) -> None:
    """With a tool schema (a payload's args_schema), a wrong type is one sentence in the dialog as you type, and
    the edit can't go on to review or submit."""
    import dataclasses as dc

    from hitl_tui.decisions.resume_values import edit_problem

    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "email-0001")
        action = app.console_screen.selected.actions[0]
        typed = dc.replace(action, args_schema={"type": "object", "properties": {"retries": {"type": "integer"}}})
        dialog = EditDialog(typed.name, typed.args, require_object=True, editor=None,
                            check=lambda args: edit_problem(typed, args))
        app.push_screen(dialog)
        await pilot.pause()
        dialog.query_one("#args").load_text(json.dumps({**typed.args, "retries": "three"}))
        await pilot.pause()
        shown = str(dialog.query_one("#error").render())
        assert shown.endswith("schema (retries: 'three' is not of type 'integer').")
        await pilot.press("ctrl+s")
        assert not dialog.reviewing  # can't go on to submit
        dialog.query_one("#args").load_text(json.dumps({**typed.args, "retries": 3}))
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert dialog.reviewing
