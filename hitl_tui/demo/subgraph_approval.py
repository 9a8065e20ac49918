"""An approval raised inside a subgraph, answered from the root.

    root:      START -> intake -> payment (a subgraph) -> report -> END
    payment:   START -> draft -> approve -> pay -> END

`approve` pauses with `request_approval`. The interrupt lives in namespace "payment:<task id>" and is also
written at the root under the parent task with the same id, so it is resumed from the root:
`graph.invoke(Command(resume={interrupt_id: answer}), {"configurable": {"thread_id": ...}})`.
`get_state(config, subgraphs=True)` shows `next == ("payment",)` with the interrupt on the root and on the
subgraph task's state.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hitl_tui.agent import request_approval
from hitl_tui.demo import planner
from hitl_tui.demo.kit import Effects, compile_demo, initiator, message

GRAPH_ID = "subgraph_approval"
SUBGRAPH_NODE = "payment"


class RootState(TypedDict, total=False):
    request: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    action: dict[str, Any]
    review_note: str
    status: str


class PaymentState(TypedDict, total=False):
    # No `messages` here: a subgraph's output is applied to the parent's channels, and an appending
    # reducer would add the parent's own messages a second time. The parent reports from `review_note`.
    request: str
    action: dict[str, Any]  # {"action", "args", "description", "reasoning", "risk"}
    approved: bool
    decision_id: str | None
    review_note: str
    status: str  # not paid | paid


def build_graph(checkpointer: Any) -> Any:
    """The compiled root graph; the payment subgraph inherits its checkpointer."""
    effects = Effects(checkpointer)

    def draft(state: PaymentState) -> dict[str, Any]:
        plan = planner.plan_action(state["request"])
        return {
            "action": {
                "action": plan.action,
                "args": plan.args,
                "description": plan.description,
                "reasoning": plan.reasoning,
                "risk": plan.risk,
            },
        }

    def approve(state: PaymentState, config: RunnableConfig) -> dict[str, Any]:
        action = state["action"]
        answer = request_approval(
            action["action"],
            action["args"],
            description=action["description"],
            reasoning=action["reasoning"],
            risk=action["risk"],
            initiator=initiator(config),
        )
        note = answer.decision.value + (f": {answer.text}" if answer.text else "")
        return {
            "approved": answer.approved,
            "decision_id": answer.decision_id,
            "action": {**action, "args": answer.args},
            "review_note": note,
        }

    def pay(state: PaymentState, config: RunnableConfig) -> dict[str, Any]:
        if not state.get("approved"):
            return {"status": "not paid"}
        action = state["action"]
        effects.run(action["action"], action["args"], config, decision_id=state.get("decision_id"))
        return {"status": "paid"}

    sub = StateGraph(PaymentState)
    sub.add_node("draft", draft)
    sub.add_node("approve", approve)
    sub.add_node("pay", pay)
    sub.add_edge(START, "draft")
    sub.add_edge("draft", "approve")
    sub.add_edge("approve", "pay")
    sub.add_edge("pay", END)
    payment = sub.compile()  # no checkpointer of its own: it checkpoints through the parent

    def intake(state: RootState) -> dict[str, Any]:
        return {"status": "received", "messages": [message("user", state["request"])]}

    def report(state: RootState) -> dict[str, Any]:
        done = f"Payment review: {state.get('review_note')}. Finished: {state.get('status')}."
        return {"messages": [message("assistant", done)]}

    root = StateGraph(RootState)
    root.add_node("intake", intake)
    root.add_node(SUBGRAPH_NODE, payment)
    root.add_node("report", report)
    root.add_edge(START, "intake")
    root.add_edge("intake", SUBGRAPH_NODE)
    root.add_edge(SUBGRAPH_NODE, "report")
    root.add_edge("report", END)
    return compile_demo(root, checkpointer, GRAPH_ID)
