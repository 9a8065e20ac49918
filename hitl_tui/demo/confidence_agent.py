"""Pause only when the model is unsure: answer, gate on confidence, then deliver.

    START -> answer -> review --confident or approved/edited--> deliver -> END
                ^         |--feedback--> answer (re-answer with the feedback, gate again)
                |         |--reject/ignore--> END (with a note)

`answer` asks the model (JSON mode) for {"response", "confidence", "reasoning"}. `review` pauses with the
project's payload (action "send_reply", with the confidence) only when `gate(...)` says "ask". The
threshold (default 0.8) comes from `build_graph(..., threshold=)` or the first run's
`configurable.hitl_confidence_threshold`, and is stored in state, so a resume (whose config does not carry
it) re-evaluates the gate exactly as the first run did.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hitl_tui.agent import request_approval
from hitl_tui.demo import planner
from hitl_tui.demo.kit import Effects, compile_demo, configurable, initiator, message
from hitl_tui.demo.offline import describe
from hitl_tui.model import DecisionKind

GRAPH_ID = "confidence_agent"
ACTION = "send_reply"
DEFAULT_THRESHOLD = 0.8

Gate = Literal["ask", "approve", "reject"]


def gate(confidence: float, threshold: float) -> Gate:
    """Whether to ask a person: the one place to swap in confidence bands (auto-approve / auto-reject)."""
    return "approve" if confidence >= threshold else "ask"


class ConfidenceState(TypedDict, total=False):
    request: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    feedback: Annotated[list[str], operator.add]
    response: str
    confidence: float
    reasoning: str
    source: str  # model | offline | fallback
    threshold: float
    decision: str
    decision_id: str | None
    status: str  # answered | sent | rejected | ignored


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
            update["threshold"] = float(configurable(config).get("hitl_confidence_threshold", threshold))
        said = f"{result.response} (confidence {result.confidence:.2f})"
        update["messages"].append(message("assistant", said))
        return update

    def review(state: ConfidenceState, config: RunnableConfig) -> dict[str, Any]:
        args = {"response": state["response"]}
        verdict = gate(state["confidence"], state.get("threshold", threshold))
        if verdict != "ask":  # decided without a person: no pause, nothing for the console to show
            confident = f"confidence {state['confidence']:.2f}"
            if verdict == "approve":
                note = message("assistant", f"Sending unreviewed ({confident}).")
                return {"decision": "approve", "messages": [note]}
            note = message("assistant", f"Reply dropped without review ({confident}).")
            return {"decision": "reject", "status": "rejected", "messages": [note]}
        answer = request_approval(
            ACTION,
            args,
            description=describe(ACTION, args),
            reasoning=state.get("reasoning"),
            confidence=state["confidence"],
            risk="medium" if state["confidence"] < 0.5 else "low",
            initiator=initiator(config),
        )
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
