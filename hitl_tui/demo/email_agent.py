"""The basic approval gate: draft "send an email to X saying Y", pause before sending, send only if approved.

    START -> plan -> review --approve/edit--> send -> END
                 ^     |--feedback--> plan (re-draft with the feedback, pause again)
                 |     |--reject/ignore--> END (with a note in messages)

`review` pauses with `hitl_tui.agent.request_approval` (the project's own payload, action "send_email",
with reasoning, confidence and risk). `send` appends one line to the outbox.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hitl_tui.agent import request_approval
from hitl_tui.demo import planner
from hitl_tui.demo.kit import Effects, compile_demo, initiator, message
from hitl_tui.demo.offline import describe
from hitl_tui.model import DecisionKind

GRAPH_ID = "email_agent"
ACTION = "send_email"


class EmailState(TypedDict, total=False):
    request: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    feedback: Annotated[list[str], operator.add]
    draft: dict[str, Any]  # {"to", "subject", "body"}
    reasoning: str
    confidence: float
    risk: str
    decision: str
    decision_id: str | None
    status: str  # drafted | sent | rejected | ignored


def build_graph(checkpointer: Any) -> Any:
    """The compiled email agent, checkpointing to `checkpointer`."""
    effects = Effects(checkpointer)

    def plan(state: EmailState) -> dict[str, Any]:
        draft = planner.plan_email(state["request"], state.get("feedback", []))
        msgs = [] if state.get("messages") else [message("user", state["request"])]
        msgs.append(message("assistant", f"Drafted an email to {draft.to}: {draft.subject!r}."))
        return {
            "draft": draft.args,
            "reasoning": draft.reasoning,
            "confidence": draft.confidence,
            "risk": draft.risk,
            "status": "drafted",
            "messages": msgs,
        }

    def review(state: EmailState, config: RunnableConfig) -> dict[str, Any]:
        draft = state["draft"]
        answer = request_approval(
            ACTION,
            draft,
            description=describe(ACTION, draft),
            reasoning=state.get("reasoning"),
            confidence=state.get("confidence"),
            risk=state.get("risk"),
            initiator=initiator(config),
        )
        update: dict[str, Any] = {"decision": answer.decision.value, "decision_id": answer.decision_id}
        if answer.approved:
            # An edit may change only some fields; keep the rest of the draft.
            update["draft"] = {**draft, **answer.args}
            verb = "Edited and approved" if answer.decision is DecisionKind.EDIT else "Approved"
            update["messages"] = [message("user", f"{verb} by {answer.operator or 'a reviewer'}.")]
        elif answer.decision is DecisionKind.FEEDBACK:
            text = answer.text or ""
            update["feedback"] = [text]
            update["messages"] = [message("user", f"Feedback: {text}")]
        else:
            status = "ignored" if answer.decision is DecisionKind.IGNORE else "rejected"
            reason = f": {answer.text}" if answer.text else ""
            update["status"] = status
            update["messages"] = [message("assistant", f"Not sent ({status}{reason}).")]
        return update

    def route(state: EmailState) -> str:
        decision = state.get("decision")
        if decision in (DecisionKind.APPROVE.value, DecisionKind.EDIT.value):
            return "send"
        if decision == DecisionKind.FEEDBACK.value:
            return "plan"
        return END

    def send(state: EmailState, config: RunnableConfig) -> dict[str, Any]:
        draft = state["draft"]
        effects.run(ACTION, draft, config, decision_id=state.get("decision_id"))
        return {"status": "sent", "messages": [message("tool", f"Sent to {draft.get('to')}.")]}

    builder = StateGraph(EmailState)
    builder.add_node("plan", plan)
    builder.add_node("review", review)
    builder.add_node("send", send)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "review")
    builder.add_conditional_edges("review", route, ["send", "plan", END])
    builder.add_edge("send", END)
    return compile_demo(builder, checkpointer, GRAPH_ID)
