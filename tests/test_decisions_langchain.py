"""A decision never strands a thread, tested on agents built with the real LangChain and LangGraph libraries.

- Only what the payload allows is offered: per-call HITL middleware says it in the interrupt's response_schema,
  batched middleware in review_configs; anything else is refused before it is recorded.
- Edited arguments are checked against the tool's own schema (from the response_schema's edit branch) in the core
  and on the command line, before anything is committed: a wrong type is one clear sentence.
- A resume the agent refused with nothing saved ends `failed`, shown with its error, and the interrupt takes a
  new decision; the audit log has both. (Batched middleware saves the answer before refusing it: not reopened.)
- A resume keeps the run's metadata: an app that names its graph only in invoke metadata pauses again with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers_decisions import (
    Env,
    approve,
    check_audit_matches_ledger,
    edit,
    feedback,
    ledger_rows,
    reject,
)

from hitl_tui.decisions.decision import DecisionState
from hitl_tui.decisions.resume_values import InvalidDecision
from hitl_tui.errors import DecisionRefused
from hitl_tui.model import DecisionKind

AGENTS = Path(__file__).resolve().parent / "langchain_agents.py"
GRAPHS = ("strict_per_call", "editable_per_call", "strict_batched", "typed_answer")


@pytest.fixture
def lc_env(env: Env) -> Env:
    """The decisions env with the LangChain agents configured (graph id = builder name without `_graph`)."""
    with open(env.config_path, "a", encoding="utf-8") as fh:
        for name in GRAPHS:
            fh.write(f'\n[graphs.{name}]\ngraph = "{AGENTS}:{name}_graph"\n')
    from hitl_tui.config import load_config

    env.config = load_config(env.config_path)
    env.demo.config = env.config
    return env


def start(env: Env, graph_id: str, thread_id: str) -> Any:
    """Run the agent in this process until it pauses; the graph id travels only in the run's metadata."""
    import langchain_agents
    from langgraph.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(str(env.db)) as saver:
        graph = getattr(langchain_agents, f"{graph_id}_graph")(saver)
        first = {"messages": [{"role": "user", "content": "pay bob"}]} if graph_id != "typed_answer" else {}
        graph.invoke(first, {"configurable": {"thread_id": thread_id}, "metadata": {"graph_id": graph_id}})
    return env.paused(thread_id)


def test_per_call_offers_only_what_the_response_schema_allows(lc_env: Env) -> None:
    thread = start(lc_env, "strict_per_call", "pc-strict")
    [interrupt] = thread.interrupts
    assert thread.graph_id == "strict_per_call"
    assert interrupt.actions[0].allowed == {DecisionKind.APPROVE, DecisionKind.REJECT}
    desk = lc_env.desk()
    for bad in (feedback("just do it"), edit({"amount": 1, "to": "bob"})):
        with pytest.raises(InvalidDecision, match="not allowed"):
            desk.decide(thread, interrupt, [bad])
    assert ledger_rows(lc_env.db) == []  # nothing was recorded, so nothing blocks the real decision
    result = desk.decide(thread, interrupt, [reject("not this month")])
    assert result.records[0].state is DecisionState.FINISHED
    assert lc_env.outbox_lines() == []
    desk.close()


def test_batched_offers_only_what_the_review_config_allows(lc_env: Env) -> None:
    thread = start(lc_env, "strict_batched", "b-strict")
    [interrupt] = thread.interrupts
    assert interrupt.actions[0].allowed == {DecisionKind.APPROVE, DecisionKind.REJECT}
    desk = lc_env.desk()
    with pytest.raises(InvalidDecision, match="not allowed"):
        desk.decide(thread, interrupt, [feedback("respond instead")])
    assert desk.decide(thread, interrupt, [approve()]).records[0].state is DecisionState.FINISHED
    assert [line["args"] for line in lc_env.outbox_lines()] == [{"amount": 800, "to": "bob"}]
    desk.close()


def test_an_edit_the_tools_schema_rejects_is_refused_before_commit(lc_env: Env) -> None:
    thread = start(lc_env, "editable_per_call", "pc-edit")
    [interrupt] = thread.interrupts
    assert interrupt.actions[0].args_schema["properties"]["amount"]["type"] == "integer"
    desk = lc_env.desk()
    with pytest.raises(InvalidDecision) as err:
        desk.decide(thread, interrupt, [edit({"amount": "lots", "to": "bob"})])
    assert err.value.message == (
        "The edited arguments don't fit 'transfer''s schema (amount: 'lots' is not of type 'integer')."
    )
    assert ledger_rows(lc_env.db) == []
    # The command line says the same in one sentence, exit 2, before committing anything.
    exe = Path(sys.executable).with_name("hitl-tui")
    out = subprocess.run([str(exe), "edit", "pc-edit", "--config", str(lc_env.config_path), "--args",
                          json.dumps({"amount": "lots", "to": "bob"})], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == f"hitl-tui: {err.value.message}"
    assert ledger_rows(lc_env.db) == []
    result = desk.decide(thread, interrupt, [edit({"amount": 50, "to": "bob"})])
    assert result.records[0].state is DecisionState.FINISHED
    assert [line["args"] for line in lc_env.outbox_lines()] == [{"amount": 50, "to": "bob"}]
    desk.close()


def test_a_resume_refused_with_nothing_saved_reopens_the_interrupt(lc_env: Env) -> None:
    thread = start(lc_env, "typed_answer", "typed-1")
    [interrupt] = thread.interrupts
    desk = lc_env.desk()
    # 3 fits the JSON Schema (an integer), but the agent's own validator wants an even number.
    failed = desk.decide(thread, interrupt, [edit({"value": 3})])
    [record] = failed.records
    assert record.state is DecisionState.FAILED and record.reopened
    assert "must be even" in (record.error or "") and "can be decided again" in (record.error or "")
    assert lc_env.outbox_lines() == []
    again = lc_env.paused("typed-1")
    assert again.checkpoint_id == thread.checkpoint_id  # the agent saved nothing
    # Another operator decides it again, from the same view: not "Already decided".
    other = lc_env.desk("bob")
    done = other.decide(again, again.interrupts[0], [edit({"value": 4})])
    assert done.records[0].state is DecisionState.PAUSED_AGAIN
    assert [line["args"] for line in lc_env.outbox_lines()] == [{"value": 4}]
    rows = ledger_rows(lc_env.db)
    assert [(r["state"], r["reopened"], r["attempt"]) for r in rows] == [("failed", 1, 0), ("paused_again", 0, 1)]
    # The audit log says both: the failed outcome (reopened) and the second decision.
    other.flush_audit()
    check_audit_matches_ledger(lc_env)
    outcomes = [json.loads(line) for line in lc_env.audit_path.read_text().splitlines()]
    failed_outcome = next(r for r in outcomes if r.get("event") == "outcome" and r.get("outcome") == "failed")
    assert failed_outcome["reopened"] is True and "must be even" in failed_outcome["error"]
    desk.close()
    other.close()


def test_a_resumed_thread_keeps_the_graph_id_its_app_put_in_run_metadata(lc_env: Env) -> None:
    thread = start(lc_env, "typed_answer", "typed-2")
    desk = lc_env.desk()
    assert desk.decide(thread, thread.interrupts[0], [edit({"value": 2})]).records[0].state.value == "paused_again"
    second = lc_env.paused("typed-2")
    assert second.graph_id == "typed_answer"  # our resume passed the run's metadata on
    assert desk.decide(second, second.interrupts[0], [edit({"value": 6})]).records[0].state.value == "finished"
    assert [line["args"]["value"] for line in lc_env.outbox_lines()] == [2, 6]
    desk.close()


def test_a_thread_whose_graph_nobody_knows_is_refused_plainly(lc_env: Env) -> None:
    import langchain_agents
    from langgraph.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(str(lc_env.db)) as saver:  # an app that names no graph at all
        langchain_agents.typed_answer_graph(saver).invoke({}, {"configurable": {"thread_id": "anon"}})
    thread = lc_env.paused("anon")
    assert thread.graph_id is None
    desk = lc_env.desk()
    with pytest.raises(DecisionRefused, match="Nobody can resume thread anon: it names no graph"):
        desk.decide(thread, thread.interrupts[0], [edit({"value": 2})])
    assert ledger_rows(lc_env.db) == []
    exe = Path(sys.executable).with_name("hitl-tui")
    out = subprocess.run([str(exe), "approve", "anon", "--config", str(lc_env.config_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3 and "Nobody can resume thread anon" in out.stdout + out.stderr
    desk.close()
