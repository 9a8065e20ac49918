"""Deciding many threads at once: one compare-and-set commit for all of them, each item winning or refused on its
own terms, every approved effect exactly once, and the audit log in step with the ledger."""

from __future__ import annotations

import sqlite3
from typing import Any

from helpers_decisions import (
    CRASHY,
    Env,
    approve,
    audit_records,
    check_audit_matches_ledger,
    effects_per_thread,
    ledger_rows,
    reject,
)
from langgraph.types import Command

from hitl_tui.decisions.decision import DecisionState
from hitl_tui.errors import DecisionRefused


def _commits(conn: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(lambda sql: seen.append(sql) if sql.strip().upper() == "COMMIT" else None)
    return seen


def test_many_threads_decided_in_one_commit_each_on_its_own_terms(env: Env) -> None:
    tids = env.start(CRASHY, 6)
    views = {tid: env.paused(tid) for tid in tids}
    desk = env.desk()
    # Before the bulk decision: one thread is decided by someone else, another moves on outside hitl-tui.
    other = env.desk("bob")
    other.decide(views[tids[1]], views[tids[1]].interrupts[0], [reject("not this one")])
    other.close()
    env.graph(CRASHY).invoke(Command(resume={views[tids[2]].interrupts[0].interrupt_id: {"decision": "approve"}}),
                             {"configurable": {"thread_id": tids[2]}})
    full_commits = _commits(desk.ledger._conn)
    syncs: list[int] = []
    real_sync = desk.ledger.sync
    desk.ledger.sync = lambda: syncs.append(len(full_commits)) or real_sync()  # its own durable commit
    items: list[Any] = [(views[t], views[t].interrupts[0], [reject("no") if t == tids[5] else approve()])
                        for t in tids]
    results = desk.decide_bulk(items)

    # Every decision of the bulk is durable with one fsynced commit; the audit flush at the end adds the one
    # durable commit that makes the resumes' relaxed outcomes durable before the log holds them.
    assert syncs == [1] and len(full_commits) == 2
    assert isinstance(results[1], DecisionRefused) and "Already decided" in results[1].message
    assert isinstance(results[2], DecisionRefused) and "has finished" in results[2].message
    states = {tids[i]: r.records[0].state for i, r in enumerate(results) if not isinstance(r, DecisionRefused)}
    assert states == {tids[0]: DecisionState.FINISHED, tids[3]: DecisionState.FINISHED,
                      tids[4]: DecisionState.FINISHED, tids[5]: DecisionState.FINISHED}
    effects = effects_per_thread(env.outbox_lines())
    assert effects == {tids[0]: 1, tids[2]: 1, tids[3]: 1, tids[4]: 1}  # tids[2]: the outside resume; 5 rejected
    mine = [r for r in ledger_rows(env.db) if r["operator"].startswith("olivia")]
    assert sorted(r["thread_id"] for r in mine) == sorted([tids[0], tids[3], tids[4], tids[5]])
    refusals = [r for r in audit_records(env.audit_path) if r["event"] == "refused"]
    assert sorted(r["thread_id"] for r in refusals) == sorted([tids[1], tids[2]])
    check_audit_matches_ledger(env)
    desk.close()


def test_a_refused_item_holds_nothing_back_and_nothing_of_it_is_kept(env: Env) -> None:
    """The refusal rolls back to its own savepoint: no half-recorded decision, and the next item still wins."""
    first, second = env.start(CRASHY, 2)
    a, b = env.paused(first), env.paused(second)
    desk = env.desk(resume_in_process=False)
    desk.decide(a, a.interrupts[0], [approve()])
    results = desk.decide_bulk([(a, a.interrupts[0], [approve()]), (b, b.interrupts[0], [approve()])])
    assert isinstance(results[0], DecisionRefused)
    assert not isinstance(results[1], DecisionRefused) and results[1].records[0].state is DecisionState.DECIDED
    assert sorted(r["thread_id"] for r in ledger_rows(env.db)) == [first, second]  # one row each, no more
    desk.close()
