"""Every payload shape resumes correctly end to end, across processes: this process decides (a desk that does not
resume), another process resumes (a Resumer, as `hitl-tui worker` runs it); the outbox and each agent's own final
state (graph.get_state) show exactly what the operator decided."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers_decisions import (
    CRASHY,
    Env,
    approve,
    check_audit_matches_ledger,
    edit,
    feedback,
    ignore,
    ledger_rows,
    make_env,
    reject,
    resume_in_child,
    run_children,
)

from hitl_tui.decisions.decision import DecisionState
from hitl_tui.demo.catalog import agent
from hitl_tui.model import PendingInterrupt, PendingThread


@dataclass
class Case:
    """A thread, what is decided on it (round 1, then round 2 for what stays pending), and what must follow."""

    graph: str
    pick: int  # which of the threads started for this graph (each demo graph cycles through its requests)
    rounds: list[Callable[[PendingThread], list[tuple[PendingInterrupt, list[Any]]]]]
    effects: Callable[[PendingThread], list[tuple[str, dict[str, Any]]]]  # expected outbox (effect, args), sorted
    final: Callable[[Any], None]  # checks the agent's final state values
    states: list[str] = field(default_factory=lambda: ["finished"])  # ledger state after each round


def only(decisions: list[Any]) -> Callable[[PendingThread], list[tuple[PendingInterrupt, list[Any]]]]:
    return lambda t: [(t.interrupts[0], decisions)]


def by_action(**decided: list[Any]) -> Callable[[PendingThread], list[tuple[PendingInterrupt, list[Any]]]]:
    """Decide the pending interrupts whose (single) action has these names, together in one submission."""
    return lambda t: [(i, decided[i.actions[0].name]) for i in t.interrupts if i.actions[0].name in decided]


def args_of(t: PendingThread, name: str) -> dict[str, Any]:
    return next(a.args for i in t.interrupts for a in i.actions if a.name == name)


def none(_: PendingThread) -> list[tuple[str, dict[str, Any]]]:
    return []


def ran(*names: str, **edited: dict[str, Any]) -> Callable[[PendingThread], list[tuple[str, dict[str, Any]]]]:
    """These actions ran once each, with their original arguments unless edited ones are given."""
    return lambda t: sorted((n, edited.get(n) or args_of(t, n)) for n in names)


def values_are(**expected: Any) -> Callable[[Any], None]:
    def check(values: Any) -> None:
        for key, want in expected.items():
            assert values.get(key) == want, (key, values.get(key), want)
    return check


def last_message_has(text: str, **expected: Any) -> Callable[[Any], None]:
    def check(values: Any) -> None:
        values_are(**expected)(values)
        assert any(text in str(m) for m in values["messages"]), (text, values["messages"])
    return check


EMAIL_EDIT = {"to": "someone@example.com", "subject": "Edited", "body": "Edited body"}
CASES: dict[str, Case] = {
    # The project's own payload.
    "hitl-approve": Case("email_agent", 0, [only([approve()])], ran("send_email"), values_are(status="sent")),
    "hitl-edit": Case("email_agent", 1, [only([edit(EMAIL_EDIT)])], ran("send_email", send_email=EMAIL_EDIT),
                      values_are(status="sent", draft=EMAIL_EDIT, decision="edit")),
    "hitl-reject": Case("email_agent", 2, [only([reject("wrong person")])], none,
                        last_message_has("wrong person", status="rejected")),
    "hitl-feedback": Case("email_agent", 3, [only([feedback("make it shorter")])], none,
                          values_are(feedback=["make it shorter"], status="drafted"), ["paused_again"]),
    # The classic static breakpoint, steered through update_state.
    "breakpoint-approve": Case("plan_execute", 0, [only([approve()])], ran("transfer"), values_are(status="executed")),
    "breakpoint-reject": Case("plan_execute", 1, [only([reject("too risky")])], none,
                              last_message_has("too risky", status="rejected")),
    "breakpoint-edit": Case("plan_execute", 1, [only([edit({"path": "/srv/exports/other.csv"})])],
                            ran("delete_file", delete_file={"path": "/srv/exports/other.csv"}),
                            values_are(status="executed")),
    "breakpoint-feedback": Case("plan_execute", 2, [only([feedback("use normal priority")])], none,
                                values_are(feedback=["use normal priority"], status="planned"), ["paused_again"]),
    # LangChain middleware, batched: approve one call, reject another, edit a third, in one pause.
    "batch-mixed": Case(
        "batch_tools", 0,
        [only([approve(0), reject("keep it", 1), edit({"channel": "#finance", "text": "Edited summary"}, 2)])],
        ran("transfer", "post_message", post_message={"channel": "#finance", "text": "Edited summary"}),
        lambda v: [m["outcome"] for m in v["messages"] if m["role"] == "tool"] == ["run", "rejected", "run"]
        or pytest.fail(str(v["messages"])),
    ),
    # LangChain middleware, per call: answered by interrupt id, one at a time, then all together.
    "per-call-one-at-a-time": Case(
        "per_call_tools", 0,
        [by_action(post_message=[approve()]), by_action(delete_file=[reject("keep the cache")])],
        ran("post_message"), values_are(status="done"), ["paused_again", "finished"],
    ),
    "per-call-together": Case(
        "per_call_tools", 1,
        [by_action(transfer=[approve()], create_ticket=[edit({"title": "Edited", "priority": "low"})])],
        ran("transfer", "create_ticket", create_ticket={"title": "Edited", "priority": "low"}),
        values_are(status="done"),
    ),
    # Agent Inbox.
    "inbox-accept": Case("inbox", 0, [only([approve()])], ran("delete_file"), values_are(outcome="run", status="done")),
    "inbox-edit": Case("inbox", 1, [only([edit({"amount": 1.0, "to_account": "HOOLI-22"})])],
                       ran("transfer", transfer={"amount": 1.0, "to_account": "HOOLI-22"}), values_are(outcome="run")),
    "inbox-response": Case("inbox", 2, [only([feedback("not now")])], none,
                           last_message_has("not now", outcome="responded", status="done")),
    "inbox-ignore": Case("inbox", 3, [only([ignore()])], none, values_are(outcome="ignored", status="done")),
    "inbox-reject": Case("inbox", 4, [only([reject("never")])], none,
                         last_message_has("Rejected: never", outcome="responded")),
    # Two interrupts pending at once on one thread (parallel branches).
    "parallel-one-at-a-time": Case(
        "parallel_approvals", 0, [by_action(transfer=[approve()]), by_action(grant_access=[reject("no access")])],
        ran("transfer"), values_are(status="incomplete"), ["paused_again", "finished"],
    ),
    "parallel-together": Case(
        "parallel_approvals", 1, [by_action(transfer=[approve()], grant_access=[approve()])],
        ran("transfer", "grant_access"), values_are(status="onboarded"),
    ),
    # An interrupt raised inside a subgraph, resumed from the root.
    "subgraph-approve": Case("subgraph_approval", 0, [only([approve()])], ran("transfer"),
                             values_are(status="paid", review_note="approve")),
    "subgraph-edit": Case("subgraph_approval", 1, [only([edit({"amount": 5.0, "to_account": "STARK-01"})])],
                          ran("transfer", transfer={"amount": 5.0, "to_account": "STARK-01"}),
                          values_are(status="paid")),
    "subgraph-reject": Case("subgraph_approval", 2, [only([reject("not this month")])], none,
                            values_are(status="not paid", review_note="reject: not this month")),
    # A raw value: free text, or JSON given through edit.
    "raw-text": Case(CRASHY + ":raw", 0, [only([feedback("blue")])], none,
                     values_are(answer="blue", status="answered")),
    "raw-json": Case(CRASHY + ":raw_json", 0, [only([edit({"size": "M"})])], none,
                     values_are(answer={"size": "M"}, status="answered")),
}


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Start every case's thread, decide round by round here, resume each round in another process."""
    env = make_env(tmp_path_factory.mktemp("shapes") / "demo")
    threads = {name: start_for(env, case) for name, case in CASES.items()}
    first_seen = {name: env.paused(tid) for name, tid in threads.items()}
    desk = env.desk(resume_in_process=False)
    rows_by_round: list[dict[str, list[str]]] = []
    for round_no in range(2):
        this_round: dict[str, list[str]] = {}
        for name, case in CASES.items():
            if round_no < len(case.rounds):
                thread = env.paused(threads[name])
                result = desk.decide_many(thread, case.rounds[round_no](thread))
                assert {r.state for r in result.records} == {DecisionState.DECIDED}
                this_round[name] = [r.decision_id for r in result.records]
        if this_round:
            assert run_children(resume_in_child, [(str(env.config_path), {}, None)]) == [0]
        rows_by_round.append(this_round)
    desk.flush_audit()
    desk.close()
    yield env, threads, first_seen, rows_by_round
    env.close()


def start_for(env: Env, case: Case) -> str:
    """A new thread of the case's graph on request number `pick` (demo agents cycle through their requests)."""
    graph, _, kind = case.graph.partition(":")
    if graph == CRASHY:
        return env.start(CRASHY, 1, prefix=kind, kind=kind)[0]
    cycle = len(agent(graph).requests)
    while True:
        [tid] = env.start(graph)
        if (len(env.demo.threads[graph]) - 1) % cycle == case.pick % cycle:
            return tid


@pytest.mark.parametrize("name", list(CASES))
def test_shape_resumes_end_to_end_across_processes(decided: Any, name: str) -> None:
    env, threads, first_seen, rows_by_round = decided
    case, tid = CASES[name], threads[name]
    rows = {r["decision_id"]: r for r in ledger_rows(env.db)}
    for round_no, want in enumerate(case.states):
        ids = rows_by_round[round_no][name]
        assert {rows[i]["state"] for i in ids} == {want}, (round_no, [rows[i]["error"] for i in ids])
    got = sorted((line["effect"], line["args"]) for line in env.outbox_lines() if line["thread_id"] == tid)
    assert got == case.effects(first_seen[name])
    # The idempotency key the agent saw is the decision (or, for decisions resumed together, the batch).
    keys = {rows[i]["decision_id"] if len(ids) == 1 else rows[i]["batch_id"]
            for ids in (r.get(name, []) for r in rows_by_round) for i in ids}
    assert all(line["decision_id"] in keys for line in env.outbox_lines() if line["thread_id"] == tid)
    graph_id = case.graph.partition(":")[0]
    snapshot = env.state(graph_id, tid)
    case.final(snapshot.values)
    assert bool(snapshot.next) == (case.states[-1] == "paused_again")


def test_every_shape_is_in_the_audit_log_once_in_order(decided: Any) -> None:
    env, *_ = decided
    check_audit_matches_ledger(env)


def test_a_resume_keeps_the_paused_runs_context_so_a_node_asked_again_still_names_its_initiator(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Two parallel approvals started by alice; hitl-tui resumes one. LangGraph runs the other branch again and it
    asks anew: with the run's user_id carried over it still says alice started it (four-eyes rules need that)."""
    from helpers_decisions import approve, make_env

    env = make_env(tmp_path_factory.mktemp("carry"))
    try:
        [tid] = env.start("parallel_approvals")
        seen = env.paused(tid)
        assert [i.initiator for i in seen.interrupts] == ["alice", "alice"]
        desk = env.desk()
        desk.decide(seen, seen.interrupts[0], [approve()])
        desk.close()
        now = env.paused(tid)
        assert [i.initiator for i in now.interrupts] == ["alice"]
        assert now.metadata.get("user_id") == "alice"
    finally:
        env.close()
