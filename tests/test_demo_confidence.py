"""The confidence agent (offline planner): pauses only below the threshold, and resumes like the email agent."""

from __future__ import annotations

from demo_fixtures import DemoDB, cfg, clean_env, demo_db, run
from langgraph.types import Command

from hitl_tui.demo import confidence_agent
from hitl_tui.demo.offline import assess
from hitl_tui.demo.outbox import read_outbox

FIXTURES = (clean_env, demo_db)  # pytest finds fixtures by module attribute
GID = confidence_agent.GRAPH_ID
UNSURE = "I want a refund for order 1234, it arrived broken"
ROUTINE = "What are your opening hours on Sunday?"


def test_gate_is_a_plain_threshold() -> None:
    assert confidence_agent.gate(0.79, 0.8) == "ask"
    assert confidence_agent.gate(0.8, 0.8) == "approve"
    assert confidence_agent.gate(0.0, 0.0) == "approve"


def test_low_confidence_pauses_with_the_confidence(demo_db: DemoDB) -> None:
    graph = demo_db.graph(GID)
    run(graph, GID, "confidence-0001", UNSURE, user_id="carol")
    state = graph.get_state(cfg("confidence-0001"), subgraphs=True)
    assert state.next == ("review",)
    [pending] = state.interrupts
    expected = assess(UNSURE)
    assert pending.value["action"] == "send_reply"
    assert pending.value["confidence"] == expected["confidence"] < 0.8
    assert pending.value["reasoning"] == expected["reasoning"]
    assert pending.value["args"] == {"response": expected["response"]}
    assert pending.value["initiator"] == "carol"
    assert state.values["threshold"] == 0.8
    assert read_outbox(demo_db.outbox) == []


def test_high_confidence_sends_without_pausing(demo_db: DemoDB) -> None:
    graph = demo_db.graph(GID)
    out = run(graph, GID, "confidence-0002", ROUTINE)
    assert "__interrupt__" not in out and out["status"] == "sent"
    assert graph.get_state(cfg("confidence-0002")).next == ()
    [line] = read_outbox(demo_db.outbox)
    assert (line["effect"], line["decision_id"]) == ("send_reply", None)


def test_threshold_from_the_first_run_survives_the_resume(demo_db: DemoDB) -> None:
    graph = demo_db.graph(GID)
    run(graph, GID, "confidence-0003", ROUTINE, hitl_confidence_threshold=0.99)
    state = graph.get_state(cfg("confidence-0003"))
    assert state.next == ("review",) and state.values["threshold"] == 0.99
    # The resume config has no threshold; the gate must still ask (and so take the answer), not auto-send.
    out = graph.invoke(Command(resume={"decision": "reject", "text": "tone"}), cfg("confidence-0003"))
    assert out["status"] == "rejected"
    assert read_outbox(demo_db.outbox) == []


def test_approve_edit_feedback(demo_db: DemoDB) -> None:
    graph = demo_db.graph(GID)
    run(graph, GID, "c-approve", UNSURE)
    graph.invoke(Command(resume={"decision": "approve"}), cfg("c-approve", hitl_decision_id="d-1"))
    run(graph, GID, "c-edit", UNSURE)
    graph.invoke(Command(resume={"decision": "edit", "args": {"response": "Refund approved."}}), cfg("c-edit"))
    run(graph, GID, "c-feedback", UNSURE)
    first = graph.get_state(cfg("c-feedback")).interrupts[0]
    graph.invoke(Command(resume={"decision": "feedback", "text": "Offer store credit."}), cfg("c-feedback"))
    again = graph.get_state(cfg("c-feedback"))
    assert again.next == ("review",) and again.interrupts[0].id != first.id
    assert again.values["response"].endswith("Offer store credit.")
    lines = read_outbox(demo_db.outbox)
    assert [(x["thread_id"], x["decision_id"]) for x in lines] == [("c-approve", "d-1"), ("c-edit", None)]
    assert lines[1]["args"] == {"response": "Refund approved."}
