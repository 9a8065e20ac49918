"""The email agent: the project's own payload, resumed with approve / edit / reject / feedback / ignore."""

from __future__ import annotations

from typing import Any

from demo_fixtures import DemoDB, cfg, clean_env, demo_db, run
from langgraph.types import Command

from hitl_tui.agent import PAYLOAD_MARKER
from hitl_tui.demo import email_agent
from hitl_tui.demo.outbox import read_outbox

FIXTURES = (clean_env, demo_db)  # pytest finds fixtures by module attribute
GID = email_agent.GRAPH_ID
REQUEST = "Send an email to dana@example.com saying the Q3 report is ready for review"


def paused(db: DemoDB, thread: str = "email-0001") -> tuple[Any, Any]:
    graph = db.graph(GID)
    run(graph, GID, thread, REQUEST, user_id="alice")
    return graph, graph.get_state(cfg(thread), subgraphs=True)


def test_pauses_before_sending_with_the_hitl_payload(demo_db: DemoDB) -> None:
    _, state = paused(demo_db)
    assert state.next == ("review",)
    [pending] = state.interrupts
    value = pending.value
    assert value[PAYLOAD_MARKER] == 1
    assert value["action"] == "send_email"
    assert value["args"]["to"] == "dana@example.com"
    assert "The Q3 report is ready for review." in value["args"]["body"]
    assert 0 <= value["confidence"] <= 1 and value["risk"] == "low" and value["reasoning"]
    assert value["initiator"] == "alice"
    assert set(value["allowed"]) >= {"approve", "edit", "reject", "feedback"}
    assert state.tasks[0].name == "review" and state.tasks[0].interrupts == (pending,)
    assert state.metadata["graph_id"] == GID
    assert demo_db.latest_metadata("email-0001")["graph_id"] == GID
    assert read_outbox(demo_db.outbox) == []


def test_approve_sends_exactly_once(demo_db: DemoDB) -> None:
    graph, _ = paused(demo_db)
    resume = cfg("email-0001", hitl_decision_id="dec-1")
    out = graph.invoke(Command(resume={"decision": "approve", "operator": "bob"}), resume)
    assert out["status"] == "sent"
    graph.invoke(Command(resume={"decision": "approve"}), resume)  # a second resume on a finished thread
    [line] = read_outbox(demo_db.outbox)
    assert (line["effect"], line["thread_id"], line["decision_id"]) == ("send_email", "email-0001", "dec-1")
    assert line["args"]["to"] == "dana@example.com"
    state = graph.get_state(cfg("email-0001"))
    assert state.next == () and state.interrupts == ()
    assert demo_db.latest_metadata("email-0001")["graph_id"] == GID  # resumes keep the graph id


def test_decision_id_from_the_resume_value_when_config_has_none(demo_db: DemoDB) -> None:
    graph, _ = paused(demo_db)
    graph.invoke(Command(resume={"decision": "approve", "decision_id": "from-value"}), cfg("email-0001"))
    assert [x["decision_id"] for x in read_outbox(demo_db.outbox)] == ["from-value"]


def test_edit_sends_the_edited_email(demo_db: DemoDB) -> None:
    graph, _ = paused(demo_db)
    edited = {"to": "dana@example.com", "subject": "Q3 report (final)", "body": "Hi Dana, it is final."}
    graph.invoke(Command(resume={"decision": "edit", "args": edited}), cfg("email-0001"))
    [line] = read_outbox(demo_db.outbox)
    assert line["args"] == edited


def test_reject_never_sends_and_leaves_a_note(demo_db: DemoDB) -> None:
    graph, _ = paused(demo_db)
    out = graph.invoke(Command(resume={"decision": "reject", "text": "wrong recipient"}), cfg("email-0001"))
    assert out["status"] == "rejected"
    assert out["messages"][-1]["content"] == "Not sent (rejected: wrong recipient)."
    assert graph.get_state(cfg("email-0001")).next == ()
    assert read_outbox(demo_db.outbox) == []


def test_ignore_and_unknown_answers_never_send(demo_db: DemoDB) -> None:
    graph, _ = paused(demo_db, "email-0001")
    assert graph.invoke(Command(resume={"decision": "ignore"}), cfg("email-0001"))["status"] == "ignored"
    graph, _ = paused(demo_db, "email-0002")
    assert graph.invoke(Command(resume="yes please"), cfg("email-0002"))["status"] == "rejected"  # fail closed
    assert read_outbox(demo_db.outbox) == []


def test_feedback_replans_and_pauses_again(demo_db: DemoDB) -> None:
    graph, first = paused(demo_db)
    graph.invoke(
        Command(resume={"decision": "feedback", "text": "send it to lee@example.com instead"}), cfg("email-0001")
    )
    state = graph.get_state(cfg("email-0001"), subgraphs=True)
    assert state.next == ("review",)
    [pending] = state.interrupts
    assert pending.id != first.interrupts[0].id
    assert pending.value["args"]["to"] == "lee@example.com"
    assert "recipient changed" in pending.value["reasoning"]
    assert {"role": "user", "content": "Feedback: send it to lee@example.com instead"} in state.values["messages"]
    assert read_outbox(demo_db.outbox) == []
    graph.invoke(Command(resume={"decision": "approve"}), cfg("email-0001"))
    assert [x["args"]["to"] for x in read_outbox(demo_db.outbox)] == ["lee@example.com"]
