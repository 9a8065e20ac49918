"""One action reviewed in the Agent Inbox `HumanInterrupt` shape (plain dicts; no langchain import).

    START -> model -> human_review --accept/edit--> act -> END
                           |--response/ignore--> END (nothing runs; a response is recorded)

The pause value is
    {"action_request": {"action", "args"},
     "config": {"allow_accept", "allow_edit", "allow_respond", "allow_ignore"},
     "description": str}
and the resume value is a ONE-element list `[{"type": "accept"|"edit"|"response"|"ignore", "args": ...}]`
(`args`: None for accept/ignore, a string for response, {"action", "args"} for edit). Agent Inbox has no
"reject": a reviewer who says no answers with a "response", so a response never runs the action.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from hitl_tui.demo import planner
from hitl_tui.demo.kit import Effects, compile_demo, message
from hitl_tui.demo.offline import TOOLS

GRAPH_ID = "inbox"
REVIEW_NODE = "human_review"


class InboxState(TypedDict, total=False):
    request: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    action: dict[str, Any]  # {"action", "args"}
    description: str
    outcome: str  # run | responded | ignored | refused
    status: str  # planned | done


def human_interrupt(action: str, args: dict[str, Any], description: str) -> dict[str, Any]:
    """A HumanInterrupt dict; deleting a file may not be edited, only accepted or declined."""
    return {
        "action_request": {"action": action, "args": dict(args)},
        "config": {
            "allow_accept": True,
            "allow_edit": action != "delete_file",
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": description,
    }


def read_response(resume: Any, request: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None, str]:
    """(outcome, action to run or None, note) from a HumanResponse list; anything odd runs nothing."""
    response = resume[0] if isinstance(resume, list) and len(resume) == 1 else resume
    if not isinstance(response, Mapping):
        return "refused", None, f"Unrecognised response {resume!r:.200}; nothing ran."
    kind, args, allowed = response.get("type"), response.get("args"), request["config"]
    original = request["action_request"]
    if kind == "accept" and allowed["allow_accept"]:
        return "run", dict(original), "Accepted."
    if kind == "edit" and allowed["allow_edit"]:
        if isinstance(args, Mapping) and isinstance(args.get("args"), Mapping):
            name = args.get("action") or original["action"]
            if name in TOOLS:
                return "run", {"action": name, "args": dict(args["args"])}, "Edited and accepted."
        return "refused", None, "An edit needs args {action, args} naming a known tool; nothing ran."
    if kind == "response" and allowed["allow_respond"]:
        return "responded", None, f"Response: {args if isinstance(args, str) else ''}"
    if kind == "ignore" and allowed["allow_ignore"]:
        return "ignored", None, "Ignored."
    return "refused", None, f"Response type {kind!r} is not allowed here; nothing ran."


def build_graph(checkpointer: Any) -> Any:
    """The compiled Agent Inbox-style agent."""
    effects = Effects(checkpointer)

    def model(state: InboxState) -> dict[str, Any]:
        plan = planner.plan_action(state["request"])
        return {
            "action": {"action": plan.action, "args": plan.args},
            "description": f"{plan.description}. {plan.reasoning}",
            "status": "planned",
            "messages": [
                message("user", state["request"]),
                message("assistant", f"Plan: {plan.description}."),
            ],
        }

    def human_review(state: InboxState) -> dict[str, Any]:
        request = human_interrupt(state["action"]["action"], state["action"]["args"], state["description"])
        outcome, action, note = read_response(interrupt(request), request)
        update: dict[str, Any] = {"outcome": outcome, "messages": [message("user", note)]}
        if action is not None:
            update["action"] = action
        else:
            update["status"] = "done"
        return update

    def route(state: InboxState) -> str:
        return "act" if state.get("outcome") == "run" else END

    def act(state: InboxState, config: RunnableConfig) -> dict[str, Any]:
        action = state["action"]
        effects.run(action["action"], action["args"], config)
        return {"status": "done", "messages": [message("tool", f"Ran {action['action']}.")]}

    builder = StateGraph(InboxState)
    builder.add_node("model", model)
    builder.add_node(REVIEW_NODE, human_review)
    builder.add_node("act", act)
    builder.add_edge(START, "model")
    builder.add_edge("model", REVIEW_NODE)
    builder.add_conditional_edges(REVIEW_NODE, route, ["act", END])
    builder.add_edge("act", END)
    return compile_demo(builder, checkpointer, GRAPH_ID)
