"""The static-breakpoint agent: paused with no interrupt marker, steered by update_state + invoke(None)."""

from __future__ import annotations

from typing import Any

from demo_fixtures import DemoDB, cfg, clean_env, demo_db, run

from hitl_tui.demo import plan_execute
from hitl_tui.demo.outbox import read_outbox

FIXTURES = (clean_env, demo_db)  # pytest finds fixtures by module attribute
GID = plan_execute.GRAPH_ID
THREAD = "plan-0001"
REQUEST = "Transfer $2,500 to ACME-SUPPLIES for invoice 4411"


def paused(db: DemoDB) -> Any:
    graph = db.graph(GID)
    run(graph, GID, THREAD, REQUEST)
    return graph


def answer(graph: Any, update: dict[str, Any], **configurable: Any) -> dict[str, Any]:
    """What hitl-tui does for a breakpoint: update the state, then run on from it."""
    config = cfg(THREAD, **configurable)
    graph.update_state(config, update)
    return graph.invoke(None, config)


def test_pauses_at_the_breakpoint_without_an_interrupt(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    assert list(graph.interrupt_before_nodes) == ["execute"]
    state = graph.get_state(cfg(THREAD), subgraphs=True)
    assert state.next == ("execute",)
    assert state.interrupts == ()
    action = state.values["pending_action"]
    assert action["action"] == "transfer"
    assert action["args"] == {
        "amount": 2500.0,
        "currency": "USD",
        "from_account": "OPERATING-001",
        "to_account": "ACME-SUPPLIES",
    }
    assert action["risk"] == "high" and action["description"] == "Transfer 2,500.00 USD to ACME-SUPPLIES"
    assert state.values["human_feedback"] is None
    assert state.values["messages"][0] == {"role": "user", "content": REQUEST}
    assert demo_db.latest_metadata(THREAD)["graph_id"] == GID


def test_approve_executes_exactly_once(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    out = answer(graph, {"human_feedback": "approved"}, hitl_decision_id="dec-7")
    assert out["status"] == "executed"
    graph.invoke(None, cfg(THREAD))  # running on again after the end does nothing
    [line] = read_outbox(demo_db.outbox)
    assert (line["effect"], line["decision_id"], line["args"]["amount"]) == ("transfer", "dec-7", 2500.0)
    assert graph.get_state(cfg(THREAD)).next == ()


def test_update_state_checkpoint_keeps_the_graph_id(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    graph.update_state(cfg(THREAD), {"human_feedback": "approved"})
    meta = demo_db.latest_metadata(THREAD)
    assert (meta["source"], meta["graph_id"]) == ("update", GID)
    assert graph.get_state(cfg(THREAD)).next == ("execute",)


def test_running_on_without_an_answer_refuses_and_pauses_again(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    graph.invoke(None, cfg(THREAD))
    state = graph.get_state(cfg(THREAD))
    assert state.next == ("execute",)
    assert "Did not run transfer: no answer was given." in [m["content"] for m in state.values["messages"]]
    assert read_outbox(demo_db.outbox) == []


def test_reject_refuses_and_ends(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    out = answer(graph, {"human_feedback": "rejected: vendor not verified"})
    assert out["status"] == "rejected"
    assert out["messages"][-1]["content"] == "Did not run transfer: rejected: vendor not verified."
    assert graph.get_state(cfg(THREAD)).next == ()
    assert read_outbox(demo_db.outbox) == []


def test_feedback_replans_and_hits_the_breakpoint_again(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    answer(graph, {"human_feedback": "make it $1,200"})
    state = graph.get_state(cfg(THREAD))
    assert state.next == ("execute",)
    assert state.values["pending_action"]["args"]["amount"] == 1200.0
    assert state.values["human_feedback"] is None
    assert {"role": "user", "content": "Feedback: make it $1,200"} in state.values["messages"]
    assert read_outbox(demo_db.outbox) == []
    answer(graph, {"human_feedback": "approved"})
    assert [x["args"]["amount"] for x in read_outbox(demo_db.outbox)] == [1200.0]


def test_edit_runs_the_edited_action(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    edited = {"action": "transfer", "args": {"amount": 99.0, "currency": "EUR", "to_account": "ACME-EU"}}
    answer(graph, {"pending_action": edited, "human_feedback": "approved"})
    [line] = read_outbox(demo_db.outbox)
    assert line["args"] == edited["args"]


def test_an_unusable_pending_action_is_refused_even_when_approved(demo_db: DemoDB) -> None:
    graph = paused(demo_db)
    answer(graph, {"pending_action": {"args": {"amount": 1}}, "human_feedback": "approved"})
    state = graph.get_state(cfg(THREAD))
    assert state.next == ("execute",)  # re-planned and paused again
    assert any("pending_action must be" in m["content"] for m in state.values["messages"])
    assert read_outbox(demo_db.outbox) == []


def test_approval_words() -> None:
    assert plan_execute.is_approval("approved") and plan_execute.is_approval("Approved: looks fine")
    assert not plan_execute.is_approval("not approved") and not plan_execute.is_approval(None)
    assert plan_execute.is_rejection("rejected: no") and not plan_execute.is_rejection("approved")
