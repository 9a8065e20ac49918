"""Pause only when the model is unsure: answer, gate on confidence, then deliver.

    START -> answer -> review --confident or approved/edited--> deliver -> END
                ^         |--feedback--> answer (re-answer with the feedback, gate again)
                |         |--reject/ignore--> END (with a note)

`answer` asks the model (JSON mode) for {"response", "confidence", "reasoning"}. `review` calls
`request_approval` with a confidence band: at or above the threshold it approves without pausing, below
`reject_below` (off by default) it rejects without pausing, in between it pauses with the project's payload
(action "send_reply", with the confidence). Auto-decisions go to the audit log beside the DB. The
thresholds come from the first run's `configurable.hitl_confidence_threshold` /
`hitl_confidence_reject_below`, else a `[[policy.band]]` matching this graph in $HITL_TUI_CONFIG or, when that
is unset, in the demo's config.toml beside the DB (the one `hitl-tui demo` writes and opens), else
`build_graph(..., threshold=)` (default 0.8); they are stored in state, so a resume (whose config does not
carry them) re-evaluates the band exactly as the first run did.
"""

from __future__ import annotations

import operator
import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hitl_tui.agent import request_approval
from hitl_tui.config import BandConfig
from hitl_tui.demo import planner
from hitl_tui.demo.kit import Effects, compile_demo, configurable, initiator, message
from hitl_tui.demo.offline import describe
from hitl_tui.model import DecisionKind
from hitl_tui.policy.band import CONFIG_ENV, band_verdict, configured_band

GRAPH_ID = "confidence_agent"
ACTION = "send_reply"
DEFAULT_THRESHOLD = 0.8
AUDIT_FILENAME = "decisions.jsonl"  # the demo directory's audit log, beside the DB (see demo.runner)
DEMO_CONFIG_FILENAME = "config.toml"  # the demo directory's config, beside the DB (see demo.runner)

Gate = Literal["ask", "approve", "reject"]


def gate(confidence: float, threshold: float, reject_below: float | None = None) -> Gate:
    """Whether to ask a person: the same band `request_approval` applies (>= threshold approves)."""
    return band_verdict(BandConfig(auto_approve_at=threshold, auto_reject_below=reject_below), confidence)


class ConfidenceState(TypedDict, total=False):
    request: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    feedback: Annotated[list[str], operator.add]
    response: str
    confidence: float
    reasoning: str
    source: str  # model | offline | fallback
    threshold: float
    reject_below: float | None
    decision: str
    decision_id: str | None
    status: str  # answered | sent | rejected | ignored


def _band_source(effects: Effects) -> Path | None:
    """$HITL_TUI_CONFIG, else the demo's config.toml beside the DB: the band the demo's own console shows."""
    if os.environ.get(CONFIG_ENV):
        return None  # configured_band reads the variable itself
    if effects.default_outbox is None:
        return None
    beside = effects.default_outbox.parent / DEMO_CONFIG_FILENAME
    return beside if beside.is_file() else None


def build_graph(checkpointer: Any, *, threshold: float = DEFAULT_THRESHOLD) -> Any:
    """The compiled confidence agent; pauses when confidence < threshold."""
    effects = Effects(checkpointer)

    def answer(state: ConfidenceState, config: RunnableConfig) -> dict[str, Any]:
        result = planner.assess(state["request"], state.get("feedback", []))
        update: dict[str, Any] = {
            "response": result.response,
            "confidence": result.confidence,
            "reasoning": result.reasoning,
            "source": result.source,
            "status": "answered",
            "messages": [] if state.get("messages") else [message("user", state["request"])],
        }
        if "threshold" not in state:
            conf = configurable(config)
            band = configured_band(GRAPH_ID, ACTION, _band_source(effects))
            default_at = band.auto_approve_at if band and band.auto_approve_at is not None else threshold
            below = conf.get("hitl_confidence_reject_below", band.auto_reject_below if band else None)
            update["threshold"] = float(conf.get("hitl_confidence_threshold", default_at))
            update["reject_below"] = None if below is None else float(below)
        said = f"{result.response} (confidence {result.confidence:.2f})"
        update["messages"].append(message("assistant", said))
        return update

    def review(state: ConfidenceState, config: RunnableConfig) -> dict[str, Any]:
        args = {"response": state["response"]}
        band = BandConfig(auto_approve_at=state.get("threshold", threshold),
                          auto_reject_below=state.get("reject_below"))
        answer = request_approval(
            ACTION,
            args,
            description=describe(ACTION, args),
            reasoning=state.get("reasoning"),
            confidence=state["confidence"],
            risk="medium" if state["confidence"] < 0.5 else "low",
            initiator=initiator(config),
            band=band,
            audit_log=effects.default_outbox.parent / AUDIT_FILENAME if effects.default_outbox else None,
            graph_id=GRAPH_ID,
        )
        if answer.auto:  # decided by the band without a person (and on record in the audit log)
            confident = f"confidence {state['confidence']:.2f}"
            if answer.approved:
                note = message("assistant", f"Sending unreviewed ({confident}).")
                return {"decision": "approve", "messages": [note]}
            note = message("assistant", f"Reply dropped without review ({confident}).")
            return {"decision": "reject", "status": "rejected", "messages": [note]}
        update: dict[str, Any] = {"decision": answer.decision.value, "decision_id": answer.decision_id}
        if answer.approved:
            update["response"] = str(answer.args.get("response", state["response"]))
            verb = "Edited and approved" if answer.decision is DecisionKind.EDIT else "Approved"
            update["messages"] = [message("user", f"{verb} by {answer.operator or 'a reviewer'}.")]
        elif answer.decision is DecisionKind.FEEDBACK:
            update["feedback"] = [answer.text or ""]
            update["messages"] = [message("user", f"Feedback: {answer.text or ''}")]
        else:
            status = "ignored" if answer.decision is DecisionKind.IGNORE else "rejected"
            reason = f": {answer.text}" if answer.text else ""
            update["status"] = status
            update["messages"] = [message("assistant", f"Reply not sent ({status}{reason}).")]
        return update

    def route(state: ConfidenceState) -> str:
        decision = state.get("decision")
        if decision in (DecisionKind.APPROVE.value, DecisionKind.EDIT.value):
            return "deliver"
        if decision == DecisionKind.FEEDBACK.value:
            return "answer"
        return END

    def deliver(state: ConfidenceState, config: RunnableConfig) -> dict[str, Any]:
        effects.run(ACTION, {"response": state["response"]}, config, decision_id=state.get("decision_id"))
        return {"status": "sent", "messages": [message("tool", "Reply sent.")]}

    builder = StateGraph(ConfidenceState)
    builder.add_node("answer", answer)
    builder.add_node("review", review)
    builder.add_node("deliver", deliver)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", "review")
    builder.add_conditional_edges("review", route, ["deliver", "answer", END])
    builder.add_edge("deliver", END)
    return compile_demo(builder, checkpointer, GRAPH_ID)
