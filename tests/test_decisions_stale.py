"""No stale approvals: a decision on a thread that moved on, on a payload that changed, or on something already
decided is refused with a sentence that says why (and who decided, when), and nothing runs."""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

import pytest
from helpers_decisions import (
    CRASHY,
    FIXED_NOW,
    Env,
    approve,
    audit_records,
    check_audit_matches_ledger,
    edit,
    feedback,
    ignore,
    ledger_rows,
    reject,
)
from langgraph.types import Command

from hitl_tui.decisions.decision import DecisionState
from hitl_tui.decisions.resume_values import InvalidDecision
from hitl_tui.errors import DecisionRefused


def refused(desk: Any, thread: Any, decisions: list[Any], match: str, interrupt: Any = None) -> str:
    with pytest.raises(DecisionRefused, match=match) as info:
        desk.decide(thread, interrupt or thread.interrupts[0], decisions)
    return info.value.message


def test_thread_resumed_by_someone_else_is_refused(env: Env) -> None:
    """The operator looked; then the agent was resumed outside hitl-tui (it moved to a new pause)."""
    [tid] = env.start("email_agent")
    seen = env.paused(tid)
    graph = env.graph("email_agent")
    graph.invoke(Command(resume={seen.interrupts[0].interrupt_id: {"decision": "feedback", "text": "shorter"}}),
                 {"configurable": {"thread_id": tid}})
    now = env.paused(tid)
    assert now.checkpoint_id != seen.checkpoint_id
    desk = env.desk()
    message = refused(desk, seen, [approve()], "moved on since you looked")
    assert seen.checkpoint_id[-8:] in message and now.checkpoint_id[-8:] in message
    assert env.outbox_lines() == [] and ledger_rows(env.db) == []
    # The fresh view is fine.
    assert desk.decide(now, now.interrupts[0], [approve()]).records[0].state is DecisionState.FINISHED
    assert len(env.outbox_lines()) == 1
    desk.close()


def test_finished_thread_is_refused(env: Env) -> None:
    [tid] = env.start(CRASHY)
    seen = env.paused(tid)
    env.graph(CRASHY).invoke(Command(resume={seen.interrupts[0].interrupt_id: {"decision": "reject", "text": "x"}}),
                             {"configurable": {"thread_id": tid}})
    desk = env.desk()
    refused(desk, seen, [approve()], "finished or no longer exists")
    assert env.outbox_lines() == [] and ledger_rows(env.db) == []
    desk.close()


def test_replanned_breakpoint_is_refused(env: Env) -> None:
    """A static breakpoint whose pending action was re-planned (update_state) after the operator looked."""
    [tid] = env.start("plan_execute")
    seen = env.paused(tid)
    env.graph("plan_execute").update_state(
        {"configurable": {"thread_id": tid}},
        {"pending_action": {"action": "transfer", "args": {"amount": 99999.0, "to_account": "MALLORY"}}},
    )
    now = env.paused(tid)
    assert now.interrupts[0].payload_hash != seen.interrupts[0].payload_hash
    desk = env.desk()
    refused(desk, seen, [approve()], "moved on since you looked")
    assert env.outbox_lines() == [] and ledger_rows(env.db) == []
    desk.close()


def test_changed_payload_at_the_same_checkpoint_is_refused(env: Env) -> None:
    """What the operator saw (its hash) is part of the compare: a view of another payload never wins."""
    [tid] = env.start(CRASHY)
    seen = env.paused(tid)
    other = dataclasses.replace(seen.interrupts[0], payload_hash="f" * 64)
    desk = env.desk()
    refused(desk, seen, [approve()], "pending action changed since you looked", interrupt=other)
    assert env.outbox_lines() == [] and ledger_rows(env.db) == []
    desk.close()


def test_edit_after_approval_is_refused_and_names_who_and_when(env: Env) -> None:
    [tid] = env.start(CRASHY)
    seen = env.paused(tid)
    first = env.desk("alice", resume_in_process=False, clock=lambda: FIXED_NOW)
    first.decide(seen, seen.interrupts[0], [approve()])
    second = env.desk("bob")
    message = refused(second, seen, [edit({"item": "something else"})], "Already decided")
    assert message == "Already decided (approve) by alice@testhost at 2025-03-04 05:06:07 UTC."
    # A reject, a feedback and a second approve are refused the same way, before or after the resume.
    refused(second, seen, [reject("too late")], "by alice@testhost")
    worker = env.resumer()
    assert [state for _, state in worker.run()] == [DecisionState.FINISHED]
    refused(second, seen, [feedback("hello")], "by alice@testhost")
    refused(first, seen, [approve()], "by alice@testhost")
    # The approved (not edited) arguments ran, once; one decision stands; every refusal is on record.
    assert [line["args"] for line in env.outbox_lines()] == [{"item": f"box {tid}"}]
    assert len(ledger_rows(env.db)) == 1
    second.flush_audit()
    logged = audit_records(env.audit_path)
    assert [r["event"] for r in logged].count("refused") == 4
    assert all(r["actor"]["user"] in ("alice", "bob") for r in logged if r["event"] == "refused")
    assert all("Already decided" in r["error"] for r in logged if r["event"] == "refused")
    check_audit_matches_ledger(env)
    for d in (first, second):
        d.close()
    worker.close()


def test_thread_moved_on_between_decision_and_resume_runs_nothing(env: Env) -> None:
    """Recorded, then the agent was resumed outside hitl-tui before a worker got to it: the worker refuses."""
    [tid] = env.start(CRASHY)
    seen = env.paused(tid)
    desk = env.desk(resume_in_process=False)
    desk.decide(seen, seen.interrupts[0], [approve()])
    env.graph(CRASHY).invoke(Command(resume={seen.interrupts[0].interrupt_id: {"decision": "reject", "text": "x"}}),
                             {"configurable": {"thread_id": tid}})
    worker = env.resumer()
    [(_, state)] = worker.run()
    assert state is DecisionState.FAILED
    assert "moved on" in ledger_rows(env.db)[0]["error"]
    assert env.outbox_lines() == []
    worker.close()
    desk.close()


def test_payload_not_as_decided_at_resume_time_runs_nothing(env: Env) -> None:
    """The resumer compares the pending payload with the one decided on, too (not only the checkpoint)."""
    [tid] = env.start(CRASHY)
    seen = env.paused(tid)
    desk = env.desk(resume_in_process=False)
    did = desk.decide(seen, seen.interrupts[0], [approve()]).records[0].decision_id
    with sqlite3.connect(env.db) as conn:
        conn.execute("UPDATE hitl_decisions SET payload_hash = ? WHERE decision_id = ?", ("e" * 64, did))
    worker = env.resumer()
    [(_, state)] = worker.run()
    assert state is DecisionState.FAILED and "no longer pending as decided" in ledger_rows(env.db)[0]["error"]
    assert env.outbox_lines() == []
    worker.close()
    desk.close()


@pytest.mark.parametrize(
    ("decision", "match"),
    [
        (reject(""), "needs a reason"),
        (feedback("  "), "needs some text"),
        (edit(["not", "an", "object"]), "must be a JSON object"),
        (ignore(), "ignore is not allowed"),
        (approve(index=3), "no action number 4"),
    ],
)
def test_invalid_decisions_are_refused_before_touching_the_db(env: Env, decision: Any, match: str) -> None:
    [tid] = env.start(CRASHY)
    seen = env.paused(tid)
    desk = env.desk()
    with pytest.raises(InvalidDecision, match=match):
        desk.decide(seen, seen.interrupts[0], [decision])
    assert ledger_rows(env.db) == [] and env.outbox_lines() == []
    with sqlite3.connect(env.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM hitl_events").fetchone()[0] == 0
    # ...and the thread can still be decided properly.
    assert desk.decide(seen, seen.interrupts[0], [approve()]).records[0].state is DecisionState.FINISHED
    desk.close()


def test_an_answer_written_at_the_same_checkpoint_is_not_missed(env: Env) -> None:
    """Two parallel approvals; one is answered outside hitl-tui. LangGraph stores that answer as writes on the
    SAME checkpoint (the other approval still holds the step open), so the checkpoint id alone can't tell; the
    view's row marks can. The answered one is refused; so is the other as seen, since its node ran again and
    asked anew (here its payload lost the initiator); a fresh look at it goes through."""
    [tid] = env.start("parallel_approvals")
    seen = env.paused(tid)
    assert len(seen.interrupts) >= 2 and seen.version is not None
    first, second = seen.interrupts[0], seen.interrupts[1]
    env.graph("parallel_approvals").invoke(
        Command(resume={first.interrupt_id: {"decision": "approve"}}), {"configurable": {"thread_id": tid}})
    now = env.paused(tid)
    assert now.checkpoint_id == seen.checkpoint_id and now.version != seen.version
    assert first.key not in {i.key for i in now.interrupts}
    desk = env.desk(resume_in_process=False)
    refused(desk, seen, [approve()], "no longer pending", interrupt=first)
    refused(desk, seen, [approve()], "pending action changed", interrupt=second)
    again = next(i for i in now.interrupts if i.key == second.key)
    assert desk.decide(now, again, [approve()]).records[0].state is DecisionState.DECIDED
    desk.close()


def test_an_unchanged_view_is_compared_by_its_row_marks_without_reading_the_thread_again(env: Env) -> None:
    [tid] = env.start(CRASHY)
    seen = env.paused(tid)
    desk = env.desk(resume_in_process=False)
    reads: list[str] = []
    full_read = desk.ledger._reader.thread
    desk.ledger._reader.thread = lambda thread_id: reads.append(thread_id) or full_read(thread_id)
    assert desk.decide(seen, seen.interrupts[0], [approve()]).records[0].state is DecisionState.DECIDED
    assert reads == []
    # A view built by hand (no marks) is compared field by field after a fresh read.
    [other] = env.start(CRASHY)
    by_hand = dataclasses.replace(env.paused(other), version=None)
    desk.decide(by_hand, by_hand.interrupts[0], [approve()])
    assert reads == [other]
    desk.close()
