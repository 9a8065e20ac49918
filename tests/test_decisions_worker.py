"""The worker and the in-process resumer keep going when one graph can't be loaded, and a decision that had
to wait for another resume of its thread is resumed as soon as that one ends (no worker needed)."""

from __future__ import annotations

from typing import Any

from helpers_decisions import (
    CRASHY,
    CRASHY_TWIN,
    Env,
    approve,
    check_audit_matches_ledger,
    hold_claim_child,
    ledger_rows,
    operator,
    processes,
    reject,
)

from hitl_tui.console.worker import Worker
from hitl_tui.decisions.decision import DecisionState


def test_an_unloadable_graph_does_not_hold_up_the_others(env: Env) -> None:
    [stuck] = env.start(CRASHY_TWIN)
    fine = env.start(CRASHY, 2)
    desk = env.desk(resume_in_process=False)
    for tid in [stuck, *fine]:  # the unloadable one is decided first, so it heads the queue
        thread = env.paused(tid)
        desk.decide(thread, thread.interrupts[0], [approve()])
    worker = Worker(env.config, env.db, operator=operator("worker"))
    report = worker.run_pass()
    assert report.resumed == {"finished": 2}
    assert len(report.errors) == 1 and "no attribute 'no_such_attribute'" in report.errors[0]
    again = worker.run_pass()  # still reported, never resumed, never lost
    assert again.resumed == {} and len(again.errors) == 1
    worker.close()
    rows = {r["thread_id"]: r["state"] for r in ledger_rows(env.db)}
    assert rows == {stuck: "decided", fine[0]: "finished", fine[1]: "finished"}
    assert sorted(line["thread_id"] for line in env.outbox_lines()) == sorted(fine)
    desk.close()


def test_a_desk_that_cannot_load_the_graph_leaves_the_decision_for_a_worker(env: Env) -> None:
    [tid] = env.start(CRASHY_TWIN)
    desk = env.desk()
    thread = env.paused(tid)
    result = desk.decide(thread, thread.interrupts[0], [approve()])
    assert result.records[0].state is DecisionState.DECIDED
    assert result.resume_error and "no_such_attribute" in result.resume_error
    assert env.outbox_lines() == []
    desk.close()


def per_call_pair(env: Env) -> tuple[str, Any, Any]:
    """A per-call thread with two pending tool calls: (thread id, delete_file interrupt, post_message one)."""
    [tid] = env.start("per_call_tools")
    by_name = {i.actions[0].name: i for i in env.paused(tid).interrupts}
    return tid, by_name["delete_file"], by_name["post_message"]


def test_a_decision_waiting_on_the_same_thread_is_resumed_after_the_desks_own(env: Env) -> None:
    """Operator B answered one tool call from a console that doesn't resume (or whose thread was busy); when
    operator A's console resumes the other call, it resumes B's right after, without a worker."""
    tid, delete, post = per_call_pair(env)
    thread = env.paused(tid)
    b = env.desk("b", resume_in_process=False)
    waiting = b.decide(thread, delete, [reject("keep the cache")]).records[0]
    assert waiting.state is DecisionState.DECIDED
    a = env.desk("a")
    mine = a.decide(thread, post, [approve()]).records[0]
    assert mine.state is DecisionState.PAUSED_AGAIN  # when its own resume ended, the delete was still pending
    rows = {r["decision_id"]: r["state"] for r in ledger_rows(env.db)}
    assert rows == {mine.decision_id: "paused_again", waiting.decision_id: "finished"}
    assert [line["effect"] for line in env.outbox_lines()] == ["post_message"]
    assert env.state("per_call_tools", tid).values["status"] == "done"
    check_audit_matches_ledger(env)
    a.close()
    b.close()


def test_a_decision_on_a_thread_being_resumed_is_recorded_not_resumed_concurrently(env: Env) -> None:
    tid, delete, post = per_call_pair(env)
    thread = env.paused(tid)
    first = env.desk("first", resume_in_process=False)
    first_id = first.decide(thread, post, [approve()]).records[0].decision_id
    ctx = processes()
    claimed, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=hold_claim_child, args=(str(env.config_path), first_id, claimed, release))
    holder.start()
    try:
        assert claimed.wait(60)  # another process is resuming this thread now
        second = env.desk("second")
        waiting = second.decide(thread, delete, [reject("keep the cache")]).records[0]
        assert waiting.state is DecisionState.DECIDED and env.outbox_lines() == []
    finally:
        release.set()
        holder.join(60)
    assert holder.exitcode == 0
    worker = Worker(env.config, env.db, operator=operator("worker"))
    assert worker.run_pass().resumed == {"paused_again": 1, "finished": 1}
    worker.close()
    assert [line["effect"] for line in env.outbox_lines()] == ["post_message"]
    for d in (first, second):
        d.close()


def test_a_queued_decision_on_a_sibling_asked_again_unchanged_is_applied_once(env: Env) -> None:
    """Resuming one parallel branch re-runs its sibling, which asks again. The resume carries the paused run's
    context (user_id), so the question comes back identical (same id, same payload hash) and the decision queued
    on it still applies: resumed once, right after the first. (A question that comes back different fails its
    queued decision and runs nothing: test_decisions_stale.)"""
    [tid] = env.start("parallel_approvals")
    thread = env.paused(tid)
    finance, security = thread.interrupts
    b = env.desk("b", resume_in_process=False)
    queued = b.decide(thread, security, [approve()]).records[0]
    assert queued.state is DecisionState.DECIDED
    a = env.desk("a")
    assert a.decide(thread, finance, [approve()]).records[0].state is DecisionState.PAUSED_AGAIN
    row = next(r for r in ledger_rows(env.db) if r["decision_id"] == queued.decision_id)
    assert (row["state"], row["error"]) == ("finished", None)
    assert sorted(line["effect"] for line in env.outbox_lines()) == ["grant_access", "transfer"]
    assert env.thread(tid) is None
    a.close()
    b.close()
