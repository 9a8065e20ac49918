"""A resumer SIGKILLed at every point of a resume: a fresh resumer's recover() settles each decision as applied
(finished / paused again), failed or in doubt, never runs an effect twice, and completes what provably never ran.

Crash points: the resumer's own (HITL_TUI_CRASH_AT=after_claim|after_update|after_invoke), inside the agent
right before / right after its outbox write (HITL_TEST_KILL in tests/decisions_graph.py), and between a
static breakpoint's update_state and the ledger noting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from helpers_decisions import (
    CRASHY,
    CRASHY_BREAKPOINT,
    Env,
    approve,
    check_audit_matches_ledger,
    decide_in_child,
    effects_per_thread,
    hold_claim_child,
    ledger_rows,
    processes,
    reject,
    resume_in_child,
    run_children,
)

from hitl_tui.audit import iter_records
from hitl_tui.decisions.decision import DecisionState
from hitl_tui.decisions.resumer import CRASH_ENV
from hitl_tui.errors import DecisionRefused, HitlError

KILLED = -9


@dataclass(frozen=True)
class Trial:
    graph: str
    choice: str  # approve | reject
    crash: dict[str, str]  # environment of the crashing resumer
    kill_before_phase: str | None
    expect_state: str
    expect_effects: int
    expect_phase: str  # what the dead resumer left in the ledger

    @property
    def name(self) -> str:
        if self.kill_before_phase:
            return f"{self.graph}-before_phase_{self.kill_before_phase}-{self.choice}"
        point = next(iter(self.crash.values()))
        return f"{self.graph}-{point}-{self.choice}"


def trial(graph: str, choice: str, point: str, state: str, effects: int, phase: str) -> Trial:
    if point.startswith("before_phase_"):
        return Trial(graph, choice, {}, point.removeprefix("before_phase_"), state, effects, phase)
    env_name = "HITL_TEST_KILL" if point.endswith("_effect") else CRASH_ENV
    return Trial(graph, choice, {env_name: point}, None, state, effects, phase)


F, D = "finished", "in_doubt"
TRIALS = [
    # Nothing ran yet: recover() completes the resume.
    trial(CRASHY, "approve", "after_claim", F, 1, "claimed"),
    trial(CRASHY, "reject", "after_claim", F, 0, "claimed"),
    trial(CRASHY_BREAKPOINT, "approve", "after_claim", F, 1, "claimed"),
    trial(CRASHY_BREAKPOINT, "reject", "after_claim", F, 0, "claimed"),
    # Only the state update of a static breakpoint was stored (noted or not): recover() invokes once.
    trial(CRASHY_BREAKPOINT, "approve", "after_update", F, 1, "updated"),
    trial(CRASHY_BREAKPOINT, "reject", "after_update", F, 0, "updated"),
    trial(CRASHY_BREAKPOINT, "approve", "before_phase_updated", F, 1, "claimed"),
    # The run completed but its outcome was not recorded: recover() records what the thread shows.
    trial(CRASHY, "approve", "after_invoke", F, 1, "invoking"),
    trial(CRASHY, "reject", "after_invoke", F, 0, "invoking"),
    trial(CRASHY_BREAKPOINT, "approve", "after_invoke", F, 1, "invoking"),
    # Agent code died mid-run, around its effect: in doubt, never re-run.
    trial(CRASHY, "approve", "before_effect", D, 0, "invoking"),
    trial(CRASHY, "approve", "after_effect", D, 1, "invoking"),
    trial(CRASHY_BREAKPOINT, "approve", "before_effect", D, 0, "invoking"),
    trial(CRASHY_BREAKPOINT, "approve", "after_effect", D, 1, "invoking"),
]
ROUNDS = 2  # each trial runs on this many threads at once: 28 crashed resumers in all


def test_every_crash_point_settles_without_running_anything_twice(env: Env) -> None:
    desk = env.desk(resume_in_process=False)
    cases: list[tuple[Trial, str, str]] = []  # (trial, thread, decision id)
    for t in TRIALS:
        for tid in env.start(t.graph, ROUNDS, prefix=f"{t.name}"):
            thread = env.paused(tid)
            decision = approve() if t.choice == "approve" else reject("not today")
            record = desk.decide(thread, thread.interrupts[0], [decision]).records[0]
            assert record.state is DecisionState.DECIDED  # recorded, not resumed: this desk doesn't resume
            cases.append((t, tid, record.decision_id))

    codes = run_children(resume_in_child, [(str(env.config_path), t.crash, did, False, t.kill_before_phase)
                                           for t, _, did in cases])
    assert codes == [KILLED] * len(cases), "every resumer must have died at its crash point"
    rows = {r["decision_id"]: r for r in ledger_rows(env.db)}
    for t, tid, did in cases:
        assert (rows[did]["state"], rows[did]["phase"]) == ("resuming", t.expect_phase), (t.name, tid)

    # A fresh resumer settles every dead claim, once.
    resumer = env.resumer()
    settled = resumer.recover()
    assert sorted(r.decision_id for batch, _ in settled for r in batch) == sorted(did for _, _, did in cases)
    assert resumer.recover() == [] and resumer.run() == [], "a settled decision was picked up again"
    resumer.close()

    effects = effects_per_thread(env.outbox_lines())
    rows = {r["decision_id"]: r for r in ledger_rows(env.db)}
    for t, tid, did in cases:
        row = rows[did]
        assert row["state"] == t.expect_state, (t.name, tid, row["state"], row["error"])
        assert effects.get(tid, 0) == t.expect_effects, (t.name, tid, effects.get(tid, 0))
        if t.expect_state == D:
            assert "check its side effects" in row["error"]
        else:
            assert row["error"] is None
            status = env.state(t.graph, tid).values["status"]
            assert status == ("shipped" if t.expect_effects else "declined"), (t.name, tid, status)
            assert env.state(t.graph, tid).next == ()

    # The outcomes, with who died in which phase, reach the audit log once each, in order.
    desk.flush_audit()
    check_audit_matches_ledger(env)
    outcomes = [r for r in _logged(env) if r["event"] == "outcome"]
    assert len(outcomes) == len(cases)
    assert all("recovered after resumer" in (r["text"] or "") for r in outcomes)
    desk.close()


CONSOLE_TRIALS = [t for t in TRIALS if not t.kill_before_phase]


def test_a_console_that_dies_while_resuming_in_process_is_settled_the_same_way(env: Env) -> None:
    """The console claims in the decision's own commit; a crash anywhere after it is settled like a worker's."""
    cases = [(t, env.start(t.graph, 1, prefix=f"console-{t.name}")[0]) for t in CONSOLE_TRIALS]
    codes = run_children(decide_in_child, [(str(env.config_path), t.crash, tid, t.choice) for t, tid in cases])
    assert codes == [KILLED] * len(cases)
    rows = {r["thread_id"]: r for r in ledger_rows(env.db)}
    assert [(rows[tid]["state"], rows[tid]["phase"]) for _, tid in cases] == \
        [("resuming", t.expect_phase) for t, _ in cases]
    resumer = env.resumer()
    assert len(resumer.recover()) == len(cases) and resumer.recover() == [] and resumer.run() == []
    resumer.close()
    effects = effects_per_thread(env.outbox_lines())
    rows = {r["thread_id"]: r for r in ledger_rows(env.db)}
    for t, tid in cases:
        assert (rows[tid]["state"], effects.get(tid, 0)) == (t.expect_state, t.expect_effects), t.name
    desk = env.desk()
    desk.flush_audit()
    check_audit_matches_ledger(env)
    desk.close()


def test_an_in_doubt_breakpoint_is_not_shown_as_paused_again_and_nothing_reruns_it(env: Env) -> None:
    """After `after_effect` at a static breakpoint the thread still looks paused (LangGraph wrote no checkpoint
    after the effect): recover() must call that in doubt, not paused_again, and a worker must not run it."""
    [tid] = env.start(CRASHY_BREAKPOINT, 1)
    desk = env.desk(resume_in_process=False)
    thread = env.paused(tid)
    did = desk.decide(thread, thread.interrupts[0], [approve()]).records[0].decision_id
    assert run_children(resume_in_child, [(str(env.config_path), {"HITL_TEST_KILL": "after_effect"}, did)]) == [KILLED]
    resumer = env.resumer()
    [(_, state)] = resumer.recover()
    assert state is DecisionState.IN_DOUBT
    assert resumer.run() == []
    assert len(env.outbox_lines()) == 1
    resumer.close()
    # It still looks paused, but approving again could run the effect twice: refused until a person checks.
    again = env.paused(tid)
    with pytest.raises(DecisionRefused, match=f"is in doubt; check its side effects, then run `hitl-tui ack {did}`"):
        desk.decide(again, again.interrupts[0], [approve()])
    desk.ledger.acknowledge(did, desk.operator, "the effect ran once; re-run is wanted")
    with pytest.raises(HitlError, match="already acknowledged"):
        desk.ledger.acknowledge(did, desk.operator)
    assert desk.decide(again, again.interrupts[0], [approve()]).records
    desk.flush_audit()
    assert "acknowledged" in [r["event"] for r in iter_records(env.audit_path)]
    desk.close()


def test_a_stored_update_is_not_invoked_once_someone_else_moved_the_thread_on(env: Env) -> None:
    """The resumer died after storing the approval's state update; then the agent re-planned on its own. Invoking
    now would push the NEW plan past its breakpoint with no decision on it: recover() marks it in doubt instead."""
    [tid] = env.start(CRASHY_BREAKPOINT, 1)
    desk = env.desk(resume_in_process=False)
    thread = env.paused(tid)
    did = desk.decide(thread, thread.interrupts[0], [approve()]).records[0].decision_id
    assert run_children(resume_in_child, [(str(env.config_path), {CRASH_ENV: "after_update"}, did)]) == [KILLED]
    graph = env.graph(CRASHY_BREAKPOINT)
    graph.update_state({"configurable": {"thread_id": tid}}, {"args": {"item": "a new plan"}, "human_feedback": None})
    resumer = env.resumer()
    [(_, state)] = resumer.recover()
    assert state is DecisionState.IN_DOUBT
    assert "moved on after its state update" in (ledger_rows(env.db)[0]["error"] or "")
    assert env.outbox_lines() == []
    again = env.paused(tid)  # the new plan still waits for a person
    assert again.interrupts[0].actions[0].args == {"item": "a new plan"}
    resumer.close()
    desk.close()


def test_recover_leaves_a_live_resumers_claim_alone(env: Env) -> None:
    [tid] = env.start(CRASHY, 1)
    desk = env.desk(resume_in_process=False)
    thread = env.paused(tid)
    did = desk.decide(thread, thread.interrupts[0], [approve()]).records[0].decision_id
    ctx = processes()
    claimed, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=hold_claim_child, args=(str(env.config_path), did, claimed, release))
    holder.start()
    try:
        assert claimed.wait(60)
        resumer = env.resumer()
        assert resumer.recover() == [] and resumer.run() == []
        assert ledger_rows(env.db)[0]["state"] == "resuming"
    finally:
        release.set()
        holder.join(60)
    assert holder.exitcode == 0
    # Given back untouched, the decision is resumed normally, once.
    [(_, state)] = resumer.run()
    assert state is DecisionState.FINISHED
    assert len(env.outbox_lines()) == 1
    resumer.close()
    desk.close()


def _logged(env: Env) -> list[dict[str, Any]]:
    from helpers_decisions import audit_records

    return audit_records(env.audit_path)


def test_a_worker_pass_settles_dead_claims_resumes_the_rest_and_logs_it_all(env: Env) -> None:
    from helpers_decisions import operator

    from hitl_tui.console.worker import Worker

    crashed, waiting = env.start(CRASHY, 2)
    desk = env.desk(resume_in_process=False)
    ids = {}
    for tid in (crashed, waiting):
        thread = env.paused(tid)
        ids[tid] = desk.decide(thread, thread.interrupts[0], [approve()]).records[0].decision_id
    assert run_children(resume_in_child, [(str(env.config_path), {CRASH_ENV: "after_claim"}, ids[crashed])]) == [
        KILLED]
    worker = Worker(env.config, env.db, operator=operator("worker"))
    report = worker.run_pass()
    assert (report.recovered, report.resumed, report.errors) == ({"finished": 1}, {"finished": 1}, [])
    assert not worker.run_pass().anything
    worker.close()
    assert sorted(line["thread_id"] for line in env.outbox_lines()) == sorted([crashed, waiting])
    check_audit_matches_ledger(env)
    desk.close()


# -- an OS crash or power cut: the claim is durable, later phase marks may not be --------------------------------

REBOOT_TRIALS = [
    # Noted phase "claimed": after a reboot that may be an "invoking" mark the power cut took back. Unless the
    # thread shows the run completed, nothing is re-run: in doubt.
    (CRASHY, "after_claim", D, 0),
    (CRASHY_BREAKPOINT, "after_update", D, 0),
    # The run completed before the host went down: recorded from what the thread shows, as after any crash.
    (CRASHY, "after_invoke", F, 1),
]


def _from_an_earlier_boot(db: Any, decision_id: str) -> None:
    """Make a dead resumer's claim look as if it was made before this boot (its host crashed and came back)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        [claimant] = conn.execute(
            "SELECT claimed_by FROM hitl_decisions WHERE decision_id = ?", (decision_id,)).fetchone()
        host, pid, started, _ = claimant.split("|")
        conn.execute("UPDATE hitl_decisions SET claimed_by = ? WHERE decision_id = ?",
                     (f"{host}|{pid}|{started}|an-earlier-boot", decision_id))


def test_after_a_reboot_phase_marks_are_not_trusted_and_nothing_reruns(env: Env) -> None:
    desk = env.desk(resume_in_process=False)
    cases = []
    for graph, point, state, effects in REBOOT_TRIALS:
        [tid] = env.start(graph, 1, prefix=f"reboot-{point}")
        thread = env.paused(tid)
        did = desk.decide(thread, thread.interrupts[0], [approve()]).records[0].decision_id
        cases.append((tid, did, state, effects))
        assert run_children(resume_in_child, [(str(env.config_path), {CRASH_ENV: point}, did)]) == [KILLED]
        _from_an_earlier_boot(env.db, did)
    resumer = env.resumer()
    assert len(resumer.recover()) == len(cases) and resumer.recover() == [] and resumer.run() == []
    resumer.close()
    rows = {r["decision_id"]: r for r in ledger_rows(env.db)}
    sent = effects_per_thread(env.outbox_lines())
    for tid, did, state, effects in cases:
        assert (rows[did]["state"], sent.get(tid, 0)) == (state, effects), tid
        if state == D:
            assert "check its side effects" in rows[did]["error"]
    desk.flush_audit()
    notes = [r["text"] for r in _logged(env) if r["event"] == "outcome"]
    assert len(notes) == len(cases) and all("lost with its host" in n for n in notes)
    desk.close()


def test_a_claimant_is_alive_only_in_the_boot_it_was_made_in() -> None:
    from hitl_tui.decisions.resumer import claimant_alive, claimant_id, claimed_before_this_boot

    me = claimant_id()
    assert claimant_alive(me) is True and not claimed_before_this_boot(me)
    host, pid, started, _ = me.split("|")
    earlier = f"{host}|{pid}|{started}|an-earlier-boot"  # the same pid and start tick, in another boot
    assert claimant_alive(earlier) is False and claimed_before_this_boot(earlier)
    legacy = f"{host}|{pid}|{started}"  # written before claims named their boot: judged by pid and start tick
    assert claimant_alive(legacy) is True and not claimed_before_this_boot(legacy)
    assert claimant_alive(f"another-host|{pid}|{started}|x") is None
