"""Tool-call review: the middleware's batched and per-call shapes, and the Agent Inbox shape."""

from __future__ import annotations

from typing import Any

import pytest
from demo_fixtures import DemoDB, cfg, clean_env, demo_db, run
from langgraph.types import Command

from hitl_tui.demo import batch_tools, inbox_agent, per_call_tools
from hitl_tui.demo.outbox import read_outbox

FIXTURES = (clean_env, demo_db)  # pytest finds fixtures by module attribute
THREE = "Pay €120.50 to account DE-7731 and then delete reports/2023-draft.xlsx, then post a summary to #finance"


def effects(db: DemoDB) -> list[tuple[str, Any]]:
    return [(x["effect"], x["args"]) for x in read_outbox(db.outbox)]


# ---- batched ------------------------------------------------------------------------------------


def batch_paused(db: DemoDB, thread: str = "batch-0001") -> tuple[Any, Any]:
    graph = db.graph(batch_tools.GRAPH_ID)
    run(graph, batch_tools.GRAPH_ID, thread, THREE)
    return graph, graph.get_state(cfg(thread), subgraphs=True)


def test_batch_pause_has_the_middleware_shape(demo_db: DemoDB) -> None:
    _, state = batch_paused(demo_db)
    assert state.next == ("HumanInTheLoopMiddleware.after_model",)
    [pending] = state.interrupts
    value = pending.value
    assert set(value) == {"action_requests", "review_configs"}
    assert [r["name"] for r in value["action_requests"]] == ["transfer", "delete_file", "post_message"]
    assert value["action_requests"][0] == {
        "name": "transfer",
        "args": {"amount": 120.5, "currency": "EUR", "from_account": "OPERATING-001", "to_account": "DE-7731"},
        "description": "Transfer 120.50 EUR to DE-7731",
    }
    assert value["review_configs"] == [
        {"action_name": "transfer", "allowed_decisions": ["approve", "edit", "reject"]},
        {"action_name": "delete_file", "allowed_decisions": ["approve", "reject"]},
        {"action_name": "post_message", "allowed_decisions": ["approve", "edit", "reject", "respond"]},
    ]
    assert demo_db.latest_metadata("batch-0001")["graph_id"] == "batch_tools"


def test_batch_decisions_apply_in_order_each_once(demo_db: DemoDB) -> None:
    graph, _ = batch_paused(demo_db)
    decisions = [
        {"type": "approve"},
        {"type": "reject", "message": "keep the draft"},
        {"type": "edit", "edited_action": {"name": "post_message", "args": {"channel": "#ops", "text": "done"}}},
    ]
    out = graph.invoke(Command(resume={"decisions": decisions}), cfg("batch-0001", hitl_decision_id="d-b"))
    graph.invoke(Command(resume={"decisions": decisions}), cfg("batch-0001"))  # finished: a no-op
    assert [e for e, _ in effects(demo_db)] == ["transfer", "post_message"]
    assert effects(demo_db)[1][1] == {"channel": "#ops", "text": "done"}
    lines = read_outbox(demo_db.outbox)
    assert {x["decision_id"] for x in lines} == {"d-b"}
    assert lines[0]["call_id"] != lines[1]["call_id"]
    outcomes = [m.get("outcome") for m in out["messages"] if m["role"] == "tool"]
    assert outcomes == ["run", "rejected", "run"]
    assert "keep the draft" in [m["content"] for m in out["messages"]]


@pytest.mark.parametrize(
    "resume",
    [
        {"decisions": [{"type": "approve"}]},  # too few
        {"decisions": [{"type": "approve"}] * 4},  # too many
        [{"type": "approve"}] * 3,  # not the middleware shape
    ],
)
def test_batch_wrong_decision_count_runs_nothing(demo_db: DemoDB, resume: Any) -> None:
    graph, _ = batch_paused(demo_db)
    graph.invoke(Command(resume=resume), cfg("batch-0001"))
    assert effects(demo_db) == []


def test_batch_decision_not_allowed_for_the_tool_is_a_reject(demo_db: DemoDB) -> None:
    graph, _ = batch_paused(demo_db)
    edit_delete = {"type": "edit", "edited_action": {"name": "delete_file", "args": {"path": "/etc/passwd"}}}
    decisions = [{"type": "respond", "message": "no"}, edit_delete, {"type": "approve"}]
    out = graph.invoke(Command(resume={"decisions": decisions}), cfg("batch-0001"))
    assert [e for e, _ in effects(demo_db)] == ["post_message"]
    contents = [m["content"] for m in out["messages"]]
    assert "Not run: decision 'respond' is not allowed for transfer." in contents
    assert "Not run: decision 'edit' is not allowed for delete_file." in contents


# ---- per call -----------------------------------------------------------------------------------


def test_per_call_pauses_once_per_tool_call_in_send_tasks(demo_db: DemoDB) -> None:
    graph = demo_db.graph(per_call_tools.GRAPH_ID)
    run(graph, per_call_tools.GRAPH_ID, "percall-0001", THREE)
    state = graph.get_state(cfg("percall-0001"), subgraphs=True)
    assert state.next == ("tools", "tools", "tools")
    assert len({i.id for i in state.interrupts}) == 3
    values = [i.value for i in state.interrupts]
    assert [v["name"] for v in values] == ["transfer", "delete_file", "post_message"]
    assert all(v["type"] == "tool_approval" and v["tool_call_id"].startswith("call_") for v in values)
    assert all(i.response_schema["properties"]["type"]["enum"] for i in state.interrupts)
    assert all(t.name == "tools" and len(t.interrupts) == 1 for t in state.tasks)
    with pytest.raises(RuntimeError):  # a bare resume is ambiguous with three pending
        graph.invoke(Command(resume={"type": "approve"}), cfg("percall-0001"))


def test_per_call_answers_by_id_each_effect_once(demo_db: DemoDB) -> None:
    graph = demo_db.graph(per_call_tools.GRAPH_ID)
    run(graph, per_call_tools.GRAPH_ID, "percall-0001", THREE)
    pending = {i.value["name"]: i for i in graph.get_state(cfg("percall-0001")).interrupts}
    graph.invoke(Command(resume={pending["transfer"].id: {"type": "approve"}}), cfg("percall-0001"))
    left = graph.get_state(cfg("percall-0001"), subgraphs=True)
    assert {i.id for i in left.interrupts} == {pending["delete_file"].id, pending["post_message"].id}
    assert [e for e, _ in effects(demo_db)] == ["transfer"]
    graph.invoke(
        Command(
            resume={
                pending["delete_file"].id: {"type": "reject", "message": "keep it"},
                pending["post_message"].id: {
                    "type": "edit",
                    "edited_action": {"name": "post_message", "args": {"channel": "#x", "text": "y"}},
                },
            }
        ),
        cfg("percall-0001"),
    )
    final = graph.get_state(cfg("percall-0001"))
    assert final.next == () and final.values["status"] == "done"
    lines = read_outbox(demo_db.outbox)
    assert [(x["effect"], x["call_id"]) for x in lines] == [
        ("transfer", pending["transfer"].value["tool_call_id"]),
        ("post_message", pending["post_message"].value["tool_call_id"]),
    ]


# ---- Agent Inbox --------------------------------------------------------------------------------


def inbox_paused(db: DemoDB, thread: str, request: str = "Transfer $4,200 to account HOOLI-22 for the booth") -> Any:
    graph = db.graph(inbox_agent.GRAPH_ID)
    run(graph, inbox_agent.GRAPH_ID, thread, request)
    return graph


def test_inbox_pause_is_a_human_interrupt(demo_db: DemoDB) -> None:
    graph = inbox_paused(demo_db, "inbox-0001")
    state = graph.get_state(cfg("inbox-0001"), subgraphs=True)
    assert state.next == ("human_review",)
    [pending] = state.interrupts
    assert set(pending.value) == {"action_request", "config", "description"}
    assert pending.value["action_request"]["action"] == "transfer"
    assert pending.value["action_request"]["args"]["to_account"] == "HOOLI-22"
    assert pending.value["config"] == {
        "allow_accept": True,
        "allow_edit": True,
        "allow_respond": True,
        "allow_ignore": True,
    }
    assert pending.value["description"].startswith("Transfer 4,200.00 USD to HOOLI-22")


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ([{"type": "accept", "args": None}], [("transfer", 4200.0)]),
        (
            [{"type": "edit", "args": {"action": "transfer", "args": {"amount": 42.0, "to_account": "H"}}}],
            [("transfer", 42.0)],
        ),
        ([{"type": "response", "args": "Not this quarter."}], []),
        ([{"type": "ignore", "args": None}], []),
        ([{"type": "edit", "args": {"action": "rm_rf", "args": {}}}], []),
        ({"type": "weird"}, []),
    ],
)
def test_inbox_responses(demo_db: DemoDB, response: Any, expected: list[tuple[str, float]]) -> None:
    graph = inbox_paused(demo_db, "inbox-0001")
    graph.invoke(Command(resume=response), cfg("inbox-0001"))
    graph.invoke(Command(resume=response), cfg("inbox-0001"))  # a repeat after the end runs nothing more
    assert [(e, a["amount"]) for e, a in effects(demo_db)] == expected
    assert graph.get_state(cfg("inbox-0001")).next == ()


def test_inbox_delete_cannot_be_edited(demo_db: DemoDB) -> None:
    graph = inbox_paused(demo_db, "inbox-0002", "Delete /var/backups/db-2023-01.dump")
    [pending] = graph.get_state(cfg("inbox-0002")).interrupts
    assert pending.value["config"]["allow_edit"] is False
    out = graph.invoke(
        Command(resume=[{"type": "edit", "args": {"action": "delete_file", "args": {"path": "/"}}}]), cfg("inbox-0002")
    )
    assert effects(demo_db) == [] and out["outcome"] == "refused"
