"""Decisions become the resume value each payload shape expects; invalid decisions are refused in one sentence."""

from __future__ import annotations

import pytest

from hitl_tui.checkpoints.payloads import normalise_breakpoint, normalise_interrupt
from hitl_tui.config import GraphConfig
from hitl_tui.decisions.decision import Decision
from hitl_tui.decisions.resume_values import InvalidDecision, plan_resume
from hitl_tui.model import DecisionKind as K
from hitl_tui.model import PayloadShape

BATCH = {
    "action_requests": [
        {"name": "transfer", "args": {"amount": 5}, "description": "pay"},
        {"name": "delete_file", "args": {"path": "/tmp/x"}},
        {"name": "post_message", "args": {"text": "hi"}},
    ],
    "review_configs": [
        {"action_name": "transfer", "allowed_decisions": ["approve", "edit", "reject"]},
        {"action_name": "delete_file", "allowed_decisions": ["approve", "reject"]},
        {"action_name": "post_message", "allowed_decisions": ["approve", "edit", "reject", "respond"]},
    ],
}
INBOX = {
    "action_request": {"action": "delete_file", "args": {"path": "/srv/x"}},
    "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
    "description": "Delete it?",
}
HITL = {
    "hitl_tui": 1,
    "action": "send_email",
    "args": {"to": "a@b"},
    "allowed": ["approve", "edit", "reject", "feedback"],
}
PER_CALL = {
    "type": "tool_approval",
    "tool_call_id": "c1",
    "name": "transfer",
    "args": {"amount": 1},
    "description": "x",
}


def item(value: object):
    return normalise_interrupt(value, interrupt_id="iid", namespace="", node="n")


def plan(value: object, *decisions: Decision, graph: GraphConfig | None = None):
    return plan_resume(item(value), decisions, graph=graph, decision_id="d1", operator="alice@h")


def test_own_payload_carries_decision_args_text_and_idempotency_key() -> None:
    p = plan(HITL, Decision(K.EDIT, args={"to": "c@d"}))
    assert p.interrupt_id == "iid"
    assert p.resume == {
        "decision": "edit",
        "args": {"to": "c@d"},
        "text": None,
        "decision_id": "d1",
        "operator": "alice@h",
    }
    assert plan(HITL, Decision(K.REJECT, text="no")).resume["text"] == "no"


def test_middleware_batch_needs_one_decision_per_action_in_order() -> None:
    p = plan(
        BATCH,
        Decision(K.REJECT, 1, text="keep it"),
        Decision(K.APPROVE, 0),
        Decision(K.EDIT, 2, args={"text": "hello"}),
    )
    assert p.resume == {
        "decisions": [
            {"type": "approve"},
            {"type": "reject", "message": "keep it"},
            {"type": "edit", "edited_action": {"name": "post_message", "args": {"text": "hello"}}},
        ]
    }
    with pytest.raises(InvalidDecision, match="carries 3 actions"):
        plan(BATCH, Decision(K.APPROVE, 0))
    with pytest.raises(InvalidDecision, match="edit is not allowed for 'delete_file'"):
        plan(BATCH, Decision(K.APPROVE, 0), Decision(K.EDIT, 1, args={}), Decision(K.APPROVE, 2))


def test_agent_inbox_is_a_one_element_list_and_reject_becomes_a_response() -> None:
    assert plan(INBOX, Decision(K.APPROVE)).resume == [{"type": "accept", "args": None}]
    assert plan(INBOX, Decision(K.EDIT, args={"path": "/y"})).resume == [
        {"type": "edit", "args": {"action": "delete_file", "args": {"path": "/y"}}}
    ]
    assert plan(INBOX, Decision(K.REJECT, text="no")).resume == [{"type": "response", "args": "Rejected: no"}]
    assert plan(INBOX, Decision(K.IGNORE)).resume == [{"type": "ignore", "args": None}]


def test_per_call_and_raw_values() -> None:
    assert plan(PER_CALL, Decision(K.FEEDBACK, text="use EUR")).resume == {"type": "respond", "message": "use EUR"}
    assert item("Proceed?").shape is PayloadShape.RAW
    assert plan("Proceed?", Decision(K.FEEDBACK, text="yes")).resume == "yes"
    assert plan("Proceed?", Decision(K.EDIT, args=[1, 2])).resume == [1, 2]
    with pytest.raises(InvalidDecision, match="approve is not allowed"):
        plan("Proceed?", Decision(K.APPROVE))


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (Decision(K.REJECT, text="  "), "A reject needs a reason"),
        (Decision(K.FEEDBACK), "Feedback needs some text"),
        (Decision(K.EDIT, args=["not", "an", "object"]), "must be a JSON object"),
        (Decision(K.APPROVE, 3), "no action number 4"),
        (Decision(K.IGNORE), "ignore is not allowed"),
    ],
)
def test_invalid_decisions_are_refused_before_anything_is_written(decision: Decision, message: str) -> None:
    with pytest.raises(InvalidDecision, match=message):
        plan(HITL, decision)


def test_static_breakpoint_maps_to_configured_state_updates() -> None:
    graph = GraphConfig(
        "plan_execute",
        action_field="pending_action",
        approve_update={"human_feedback": "approved"},
        reject_update={"human_feedback": "rejected: {reason}"},
        feedback_update={"human_feedback": "{text}"},
    )
    state = {"pending_action": {"action": "transfer", "args": {"amount": 5}}, "messages": []}
    bp = normalise_breakpoint("execute", "before", state, graph)
    assert bp.actions[0].name == "transfer" and bp.actions[0].args == {"amount": 5}

    def run(d: Decision):
        return plan_resume(bp, [d], graph=graph, decision_id="d", operator="op")

    assert run(Decision(K.APPROVE)).update == {"human_feedback": "approved"}
    assert run(Decision(K.REJECT, text="too much")).update == {"human_feedback": "rejected: too much"}
    assert run(Decision(K.FEEDBACK, text="split it")).update == {"human_feedback": "split it"}
    assert run(Decision(K.EDIT, args={"amount": 1})).update == {
        "human_feedback": "approved",
        "pending_action": {"action": "transfer", "args": {"amount": 1}},
    }
    with pytest.raises(InvalidDecision, match="does not describe"):
        plan_resume(bp, [Decision(K.APPROVE)], graph=None, decision_id="d", operator="op")
