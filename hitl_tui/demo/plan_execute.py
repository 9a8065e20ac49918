"""The classic tutorial shape: a static breakpoint before `execute`, steered through state.

    START -> plan -> [breakpoint] execute --approved--> END (the action ran)
                ^                        |--rejected...--> END (refusal noted)
                |------------------------|--anything else (feedback or nothing)--> plan (pause again)

Compiled with `interrupt_before=["execute"]`, so the pause leaves NO interrupt marker in the DB; only
`next == ("execute",)`. A person (or hitl-tui) answers by `update_state(config, {...})` then
`invoke(None, config)`:

- approve:  {"human_feedback": "approved"}              -> execute runs `pending_action` once
- edit:     {"pending_action": {"action", "args"}, "human_feedback": "approved"}
- reject:   {"human_feedback": "rejected: <reason>"}    -> execute refuses, the run ends
- feedback: {"human_feedback": "<text>"}                -> execute refuses, plan re-plans with the text

`execute` refuses to act unless `human_feedback` says approved, whatever route brought it there.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hitl_tui.demo import planner
from hitl_tui.demo.kit import Effects, compile_demo, message
from hitl_tui.demo.offline import TOOLS

GRAPH_ID = "plan_execute"
BREAKPOINT = "execute"


class PlanExecuteState(TypedDict, total=False):
    request: str
    # {"action", "args", "description", "reasoning", "risk"}; only action and args are needed to execute.
    pending_action: dict[str, Any] | None
    human_feedback: str | None
    messages: Annotated[list[dict[str, Any]], operator.add]
    feedback: Annotated[list[str], operator.add]  # every non-approval answer so far, for re-planning
    status: str  # planned | executed | rejected | refused
    result: dict[str, Any] | None


def is_approval(feedback: str | None) -> bool:
    """True for "approved" (and "approved: ..."), the only answer that lets `execute` act."""
    return isinstance(feedback, str) and feedback.strip().lower().startswith("approved")


def is_rejection(feedback: str | None) -> bool:
    """True for "rejected" / "rejected: reason": the run ends without acting."""
    return isinstance(feedback, str) and feedback.strip().lower().startswith("rejected")


def build_graph(checkpointer: Any) -> Any:
    """The compiled plan/execute agent with a static breakpoint before `execute`."""
    effects = Effects(checkpointer)

    def plan(state: PlanExecuteState) -> dict[str, Any]:
        text = state.get("human_feedback")
        update: dict[str, Any] = {"messages": [], "feedback": []}
        if not state.get("messages"):
            update["messages"].append(message("user", state["request"]))
        if text and not is_approval(text) and not is_rejection(text):
            update["feedback"].append(text)
            update["messages"].append(message("user", f"Feedback: {text}"))
        feedback = [*state.get("feedback", []), *update["feedback"]]
        planned = planner.plan_action(state["request"], feedback)
        update |= {
            "pending_action": {
                "action": planned.action,
                "args": planned.args,
                "description": planned.description,
                "reasoning": planned.reasoning,
                "risk": planned.risk,
            },
            "human_feedback": None,  # each plan needs its own answer
            "status": "planned",
        }
        update["messages"].append(message("assistant", f"Plan: {planned.description}. Waiting for approval."))
        return update

    def execute(state: PlanExecuteState, config: RunnableConfig) -> dict[str, Any]:
        text = state.get("human_feedback")
        action = state.get("pending_action") or {}
        name, args = action.get("action"), action.get("args")
        if not is_approval(text):
            status = "rejected" if is_rejection(text) else "refused"
            why = text if text else "no answer was given"
            return {"status": status, "messages": [message("assistant", f"Did not run {name}: {why}.")]}
        if name not in TOOLS or not isinstance(args, dict):
            note = f"Did not run: pending_action must be {{'action': one of {sorted(TOOLS)}, 'args': {{}}}}."
            return {"status": "refused", "human_feedback": None, "messages": [message("assistant", note)]}
        line = effects.run(name, args, config)
        return {
            "status": "executed",
            "result": {"effect": name, "args": args, "decision_id": line["decision_id"]},
            "messages": [message("tool", f"Executed {name}.")],
        }

    def after_execute(state: PlanExecuteState) -> str:
        if state.get("status") in ("executed", "rejected"):
            return END
        return "plan"

    builder = StateGraph(PlanExecuteState)
    builder.add_node("plan", plan)
    builder.add_node(BREAKPOINT, execute)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", BREAKPOINT)
    builder.add_conditional_edges(BREAKPOINT, after_execute, ["plan", END])
    return compile_demo(builder, checkpointer, GRAPH_ID, interrupt_before=[BREAKPOINT])
