"""Two interrupts pending at once on one thread, and an interrupt raised inside a subgraph."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from demo_fixtures import DemoDB, cfg, clean_env, demo_db, run
from langgraph.types import Command

from hitl_tui.demo import parallel_approvals, subgraph_approval
from hitl_tui.demo.outbox import read_outbox

FIXTURES = (clean_env, demo_db)  # pytest finds fixtures by module attribute
APPROVE = {"decision": "approve"}


def parallel_paused(db: DemoDB, thread: str = "parallel-0001") -> tuple[Any, dict[str, Any]]:
    graph = db.graph(parallel_approvals.GRAPH_ID)
    run(graph, parallel_approvals.GRAPH_ID, thread, "Onboard vendor Globex for office supplies", user_id="dave")
    state = graph.get_state(cfg(thread), subgraphs=True)
    return graph, {i.value["action"]: i for i in state.interrupts}


def test_two_branches_pause_in_the_same_step(demo_db: DemoDB) -> None:
    graph, pending = parallel_paused(demo_db)
    state = graph.get_state(cfg("parallel-0001"), subgraphs=True)
    assert state.next == ("finance_review", "security_review")
    assert set(pending) == {"transfer", "grant_access"}
    assert pending["transfer"].id != pending["grant_access"].id
    assert pending["transfer"].value["args"]["to_account"] == "GLOBEX"
    assert pending["grant_access"].value["args"]["account"] == "globex-svc"
    assert {t.name: t.interrupts[0].id for t in state.tasks} == {
        "finance_review": pending["transfer"].id,
        "security_review": pending["grant_access"].id,
    }
    assert all(i.value["initiator"] == "dave" for i in pending.values())
    with pytest.raises(RuntimeError):
        graph.invoke(Command(resume=APPROVE), cfg("parallel-0001"))
    assert read_outbox(demo_db.outbox) == []


def test_resume_both_at_once(demo_db: DemoDB) -> None:
    graph, pending = parallel_paused(demo_db)
    out = graph.invoke(
        Command(resume={pending["transfer"].id: APPROVE, pending["grant_access"].id: APPROVE}),
        cfg("parallel-0001", hitl_decision_id="d-p"),
    )
    assert out["status"] == "onboarded"
    assert sorted(x["effect"] for x in read_outbox(demo_db.outbox)) == ["grant_access", "transfer"]


def test_answering_one_leaves_the_other_pending_and_nothing_runs_twice(demo_db: DemoDB) -> None:
    graph, pending = parallel_paused(demo_db)
    graph.invoke(Command(resume={pending["grant_access"].id: APPROVE}), cfg("parallel-0001"))
    state = graph.get_state(cfg("parallel-0001"), subgraphs=True)
    assert state.next == ("finance_review",)
    assert [i.id for i in state.interrupts] == [pending["transfer"].id]
    assert [x["effect"] for x in read_outbox(demo_db.outbox)] == ["grant_access"]
    reject = {"decision": "reject", "text": "budget frozen"}
    out = graph.invoke(Command(resume={pending["transfer"].id: reject}), cfg("parallel-0001"))
    assert out["status"] == "incomplete"
    assert [x["effect"] for x in read_outbox(demo_db.outbox)] == ["grant_access"]
    assert graph.get_state(cfg("parallel-0001")).next == ()


# ---- subgraph -----------------------------------------------------------------------------------


def subgraph_paused(db: DemoDB, thread: str = "subgraph-0001") -> tuple[Any, Any]:
    graph = db.graph(subgraph_approval.GRAPH_ID)
    run(graph, subgraph_approval.GRAPH_ID, thread, "Pay $800 to ACME for the March invoice")
    return graph, graph.get_state(cfg(thread), subgraphs=True)


def test_interrupt_inside_the_subgraph_is_visible_from_the_root(demo_db: DemoDB) -> None:
    _, state = subgraph_paused(demo_db)
    assert state.next == ("payment",)
    [pending] = state.interrupts
    assert pending.value["action"] == "transfer" and pending.value["args"]["amount"] == 800.0
    [task] = state.tasks
    assert task.name == "payment"
    assert task.state.next == ("approve",)
    assert [i.id for i in task.state.interrupts] == [pending.id]
    sub_ns = task.state.config["configurable"]["checkpoint_ns"]
    assert sub_ns.startswith("payment:")
    with sqlite3.connect(demo_db.path) as conn:  # written at the root AND in the subgraph's namespace
        namespaces = {
            ns
            for (ns,) in conn.execute(
                "SELECT checkpoint_ns FROM writes WHERE thread_id = ? AND channel = '__interrupt__'",
                ("subgraph-0001",),
            )
        }
    assert namespaces == {"", sub_ns}
    assert demo_db.latest_metadata("subgraph-0001")["graph_id"] == "subgraph_approval"


def test_resume_from_the_root_by_id_pays_once(demo_db: DemoDB) -> None:
    graph, state = subgraph_paused(demo_db)
    interrupt_id = state.interrupts[0].id
    out = graph.invoke(Command(resume={interrupt_id: APPROVE}), cfg("subgraph-0001", hitl_decision_id="d-s"))
    graph.invoke(Command(resume={interrupt_id: APPROVE}), cfg("subgraph-0001"))
    assert out["status"] == "paid"
    [line] = read_outbox(demo_db.outbox)
    assert (line["effect"], line["decision_id"], line["args"]["amount"]) == ("transfer", "d-s", 800.0)
    assert graph.get_state(cfg("subgraph-0001"), subgraphs=True).next == ()


def test_subgraph_reject_and_edit(demo_db: DemoDB) -> None:
    graph, state = subgraph_paused(demo_db, "subgraph-0001")
    reject = {"decision": "reject", "text": "duplicate invoice"}
    out = graph.invoke(Command(resume={state.interrupts[0].id: reject}), cfg("subgraph-0001"))
    assert out["status"] == "not paid"
    assert out["messages"][-1]["content"] == "Payment review: reject: duplicate invoice. Finished: not paid."
    graph, state = subgraph_paused(demo_db, "subgraph-0002")
    edit = {"decision": "edit", "args": {"amount": 80.0, "currency": "USD", "to_account": "ACME"}}
    graph.invoke(Command(resume={state.interrupts[0].id: edit}), cfg("subgraph-0002"))
    assert [(x["thread_id"], x["args"]["amount"]) for x in read_outbox(demo_db.outbox)] == [("subgraph-0002", 80.0)]
