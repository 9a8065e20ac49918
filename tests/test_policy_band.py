"""Confidence bands on the agent side: the edges, band selection, auto-decisions on record, and safety valves."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypedDict

import pytest
from demo_fixtures import DemoDB, clean_env, demo_db, run
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from test_policy_fixtures import no_config_env

from hitl_tui.agent import request_approval
from hitl_tui.audit import iter_records, verify
from hitl_tui.config import BandConfig
from hitl_tui.demo import confidence_agent
from hitl_tui.demo.outbox import read_outbox
from hitl_tui.policy.band import CONFIG_ENV, as_band, band_verdict, select_band

FIXTURES = (clean_env, demo_db, no_config_env)
GRAPH_ID = "band_demo"
BAND = BandConfig(auto_approve_at=0.85, auto_reject_below=0.30)


@pytest.mark.parametrize(
    ("confidence", "verdict"),
    [
        (0.85, "approve"),  # exactly at auto_approve_at approves
        (0.8499999, "ask"),
        (1.0, "approve"),
        (0.30, "ask"),  # exactly at auto_reject_below asks
        (0.2999999, "reject"),
        (0.0, "reject"),
        (0.5, "ask"),
        (None, "ask"),
        (math.nan, "ask"),
        (1.2, "ask"),  # out of range is not a confidence
        (-0.1, "ask"),
        (True, "ask"),
        ("0.99", "ask"),
    ],
)
def test_band_edges(confidence: Any, verdict: str) -> None:
    assert band_verdict(BAND, confidence) == verdict


def test_one_sided_and_degenerate_bands() -> None:
    assert band_verdict(BandConfig(auto_approve_at=0.9), 0.0) == "ask"
    assert band_verdict(BandConfig(auto_reject_below=0.2), 1.0) == "ask"
    same = BandConfig(auto_approve_at=0.5, auto_reject_below=0.5)
    assert [band_verdict(same, c) for c in (0.5, 0.4999)] == ["approve", "reject"]
    assert band_verdict(None, 0.99) == "ask"
    with pytest.raises(ValueError, match="above"):
        as_band({"auto_approve_at": 0.3, "auto_reject_below": 0.6})
    with pytest.raises(ValueError, match="0 to 1"):
        as_band({"auto_approve_at": 85})


def test_the_first_matching_band_applies() -> None:
    bands = (
        BandConfig(auto_approve_at=0.99, graph="payments", action="transfer*"),
        BandConfig(auto_approve_at=0.9, graph="payments"),
        BandConfig(auto_approve_at=0.7, action="send_*"),
    )
    assert select_band(bands, "payments", "transfer_eu") is bands[0]
    assert select_band(bands, "payments", "send_email") is bands[1]
    assert select_band(bands, "email", "send_email") is bands[2]
    assert select_band(bands, None, "send_email") is bands[2]
    assert select_band(bands, "email", "delete") is None


# -- in a real graph on a real SQLite checkpointer --------------------------------------------------------------


class BandState(TypedDict, total=False):
    text: str
    action: str
    confidence: float | None
    decision: str
    auto: bool
    note: str | None


def band_graph(saver: Any, **options: Any) -> Any:
    def ask(state: BandState) -> dict[str, Any]:
        answer = request_approval(state.get("action", "send_reply"), {"text": state["text"]},
                                  confidence=state.get("confidence"), initiator="carol", **options)
        return {"decision": answer.decision.value, "auto": answer.auto, "note": answer.text}

    builder = StateGraph(BandState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=saver).with_config({"metadata": {"graph_id": GRAPH_ID}})


def go(graph: Any, thread_id: str, confidence: float | None, action: str = "send_reply") -> dict[str, Any]:
    return graph.invoke({"text": f"reply {thread_id}", "confidence": confidence, "action": action},
                        {"configurable": {"thread_id": thread_id}})


def records(path: Path) -> list[dict[str, Any]]:
    return list(iter_records(path)) if path.exists() else []


def test_edges_decide_without_pausing_and_are_on_record(demo_db: DemoDB, tmp_path: Path) -> None:
    audit = tmp_path / "audit" / "decisions.jsonl"
    graph = band_graph(demo_db.saver, band=BAND, audit_log=audit)
    high = go(graph, "t-high", 0.85)
    assert "__interrupt__" not in high and (high["decision"], high["auto"]) == ("approve", True)
    assert "0.85" in high["note"]
    low = go(graph, "t-low", 0.2999)
    assert "__interrupt__" not in low and (low["decision"], low["auto"]) == ("reject", True)
    middle = go(graph, "t-mid", 0.30)
    assert "__interrupt__" in middle
    log = records(audit)
    assert [(r["event"], r["thread_id"], r["decision"]) for r in log] == [
        ("auto_decision", "t-high", "approve"), ("auto_decision", "t-low", "reject")]
    first = log[0]
    assert first["actor"]["kind"] == "policy" and first["actor"]["policy"] == "confidence_band"
    assert (first["graph_id"], first["action"], first["confidence"]) == (GRAPH_ID, "send_reply", 0.85)
    assert first["band"] == {"auto_approve_at": 0.85, "auto_reject_below": 0.3, "graph": None, "action": None}
    assert first["initiator"] == "carol" and first["node"] == "ask"
    assert verify(audit).ok
    # The middle one waits for a person; on resume the band asks again, so interrupt() returns the answer.
    resumed = graph.invoke(Command(resume={"decision": "reject", "text": "tone"}),
                           {"configurable": {"thread_id": "t-mid"}})
    assert (resumed["decision"], resumed["auto"], resumed["note"]) == ("reject", False, "tone")
    assert len(records(audit)) == 2


def test_bands_come_from_the_config_named_by_the_environment(
    demo_db: DemoDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[console]
audit_log = "band-audit.jsonl"

[[policy.band]]
graph = "someone_else"
auto_approve_at = 0.1

[[policy.band]]
graph = "{GRAPH_ID}"
action = "send_*"
auto_approve_at = 0.9
auto_reject_below = 0.2
""", encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    graph = band_graph(demo_db.saver)
    assert go(graph, "e-1", 0.95)["auto"] is True
    assert "__interrupt__" in go(graph, "e-2", 0.5)  # the other graph's 0.1 doesn't apply here
    assert "__interrupt__" in go(graph, "e-3", 0.99, action="delete_file")  # no band for this action
    assert go(graph, "e-4", 0.1)["decision"] == "reject"
    log = records(tmp_path / "band-audit.jsonl")
    assert [(r["thread_id"], r["decision"]) for r in log] == [("e-1", "approve"), ("e-4", "reject")]
    assert log[0]["band"]["graph"] == GRAPH_ID


def test_a_rule_that_wants_people_stops_auto_approval_not_auto_rejection(
    demo_db: DemoDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("""
[[policy.band]]
auto_approve_at = 0.5
auto_reject_below = 0.3

[[policy.rule]]
action = "send_reply"
approvals = 2

[[policy.rule]]
action = "post_*"
confirm = true
""", encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    graph = band_graph(demo_db.saver)
    assert "__interrupt__" in go(graph, "r-1", 0.99)
    assert "__interrupt__" in go(graph, "r-2", 0.99, action="post_message")
    assert go(graph, "r-3", 0.99, action="archive")["auto"] is True
    assert go(graph, "r-4", 0.1)["decision"] == "reject"


def test_an_unwritable_audit_log_means_a_person_decides(demo_db: DemoDB, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    graph = band_graph(demo_db.saver, band=BAND, audit_log=blocker / "decisions.jsonl")
    assert "__interrupt__" in go(graph, "u-1", 0.99)
    assert "__interrupt__" in go(graph, "u-2", 0.01)


def test_no_band_and_no_config_always_pauses(demo_db: DemoDB, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    graph = band_graph(demo_db.saver)
    assert "__interrupt__" in go(graph, "n-1", 1.0)


def test_the_confidence_demo_records_its_auto_decisions(demo_db: DemoDB) -> None:
    graph = demo_db.graph(confidence_agent.GRAPH_ID)
    out = run(graph, confidence_agent.GRAPH_ID, "c-sure", "What are your opening hours on Sunday?")
    assert out["status"] == "sent"
    out = run(graph, confidence_agent.GRAPH_ID, "c-dropped", "What are your opening hours on Sunday?",
              hitl_confidence_threshold=1.0, hitl_confidence_reject_below=0.99)
    assert out["status"] == "rejected"
    audit = demo_db.path.parent / "decisions.jsonl"
    log = records(audit)
    assert [(r["event"], r["thread_id"], r["decision"], r["graph_id"]) for r in log] == [
        ("auto_decision", "c-sure", "approve", "confidence_agent"),
        ("auto_decision", "c-dropped", "reject", "confidence_agent"),
    ]
    assert log[1]["band"]["auto_reject_below"] == 0.99
    assert [line["thread_id"] for line in read_outbox(demo_db.outbox)] == ["c-sure"]
    assert json.loads(json.dumps(log[0]))["confidence"] >= 0.8
