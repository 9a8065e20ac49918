"""Messages up: the loops' events each arrive as their own message, a burst of snapshots keeps the newest, and
the screen asks the app for a decision with a message (watched with `run_test(message_hook=...)`)."""

from __future__ import annotations

from textual.message import Message
from ui_fixtures import DemoCopy, loaded, make_app, select_thread, wait_for

from hitl_tui.console.loop_events import AuditRead, LedgerRead, RecordsRead, SourceProblem
from hitl_tui.model import DecisionKind
from hitl_tui.ui.messages import AuditLoaded, ProblemChanged, RecordsLoaded, ThreadsLoaded, message_for
from hitl_tui.ui.screens.console import ConsoleScreen

DECIDE_TIMEOUT = 60.0  # the first resume in a process loads LangGraph and the demo graph


def test_each_loop_event_has_its_own_message() -> None:
    ledger = LedgerRead(records=(), votes={})
    assert isinstance(message_for(RecordsRead(ledger)), RecordsLoaded)
    assert isinstance(message_for(AuditRead(())), AuditLoaded)
    assert isinstance(message_for(SourceProblem("db", "gone")), ProblemChanged)
    assert message_for(RecordsRead(ledger)).event == RecordsRead(ledger)


def test_a_burst_keeps_the_newest_snapshot_but_every_audit_batch() -> None:
    ledger = LedgerRead(records=(), votes={})
    older, newer = message_for(RecordsRead(ledger)), message_for(RecordsRead(ledger))
    assert older.can_replace(newer)  # a queued ledger snapshot is superseded by the next one
    assert not message_for(AuditRead(())).can_replace(message_for(AuditRead(())))  # appended, never dropped
    db_problem = message_for(SourceProblem("db", "gone"))
    assert db_problem.can_replace(message_for(SourceProblem("db", None)))
    assert not db_problem.can_replace(message_for(SourceProblem("audit", None)))  # another source's problem stays
    assert not older.can_replace(db_problem)


async def test_the_screen_asks_for_a_decision_with_a_message(demo: DemoCopy) -> None:
    seen: list[Message] = []
    app = make_app(demo)
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await loaded(pilot)
        assert any(isinstance(m, ConsoleScreen.Ready) for m in seen)  # the loops start once the widgets exist
        assert any(isinstance(m, ThreadsLoaded) and m.event.complete for m in seen)  # posted from the loop's thread
        select_thread(app, "email-0001")
        await pilot.press("a")
        # A message is seen where it is posted (the screen) and again where it bubbles to (the app): count it once.
        submitted = await wait_for(pilot, lambda: list({
            id(m): m for m in seen if isinstance(m, ConsoleScreen.DecisionSubmitted)}.values()), what="a submission")
        assert [m.thread.thread_id for m in submitted] == ["email-0001"]
        assert [d.kind for d in submitted[0].decisions] == [DecisionKind.APPROVE]
        assert submitted[0].key == app.console_screen.book.items[submitted[0].key].key
        await wait_for(pilot, lambda: app.console_screen.book.items[submitted[0].key].local is None,
                       DECIDE_TIMEOUT, "the desk's answer")
