"""Several tool calls reviewed in ONE pause, in the LangChain `HumanInTheLoopMiddleware` batched shape.

    START -> model -> HumanInTheLoopMiddleware.after_model -> tools -> END

The pause happens in the node named like the middleware's hook, with the value
    {"action_requests": [{"name", "args", "description"}, ...],
     "review_configs":  [{"action_name", "allowed_decisions": [...]}, ...]}
and is resumed with `Command(resume={"decisions": [decision, ...]})`, one decision per request, in order
(see `tool_review`). A missing, extra or malformed decision never runs a tool. `tools` then runs each
approved or edited call once (one outbox line per call, `call_id` = the tool_call_id).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from hitl_tui.demo import planner, tool_review
from hitl_tui.demo.kit import Effects, compile_demo, configurable, message

GRAPH_ID = "batch_tools"
REVIEW_NODE = "HumanInTheLoopMiddleware.after_model"


class BatchState(TypedDict, total=False):
    request: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    tool_calls: list[dict[str, Any]]  # [{"id", "name", "args", "description"}]
    reviewed: list[dict[str, Any]]  # tool_review.review(...) per call
    status: str  # planned | done


def decisions_of(resume: Any, count: int) -> list[Any]:
    """The decisions list from a resume value; wrong shapes become `None` (which `review` rejects)."""
    decisions = resume.get("decisions") if isinstance(resume, Mapping) else None
    if not isinstance(decisions, list) or len(decisions) != count:
        return [None] * count  # one decision per request, in order, or nothing runs
    return decisions


def build_graph(checkpointer: Any) -> Any:
    """The compiled batched-review agent."""
    effects = Effects(checkpointer)

    def model(state: BatchState, config: RunnableConfig) -> dict[str, Any]:
        calls = tool_review.with_ids(
            str(configurable(config).get("thread_id")), planner.plan_tool_calls(state["request"])
        )
        summary = "; ".join(c["description"] for c in calls)
        return {
            "tool_calls": calls,
            "status": "planned",
            "messages": [message("user", state["request"]), message("assistant", f"Tool calls: {summary}")],
        }

    def human_review(state: BatchState) -> dict[str, Any]:
        calls = state["tool_calls"]
        resume = interrupt(
            {
                "action_requests": [tool_review.action_request(c) for c in calls],
                "review_configs": [tool_review.review_config(c) for c in calls],
            }
        )
        decisions = decisions_of(resume, len(calls))
        return {"reviewed": [tool_review.review(c, d) for c, d in zip(calls, decisions, strict=True)]}

    def tools(state: BatchState, config: RunnableConfig) -> dict[str, Any]:
        msgs = []
        for item in state["reviewed"]:
            if item["outcome"] == "run":
                effects.run(item["name"], item["args"], config, call_id=item["id"])
                content = f"Ran {item['name']}."
            else:
                content = item["message"] or ""
            msgs.append(message("tool", content, tool_call_id=item["id"], outcome=item["outcome"]))
        return {"status": "done", "messages": msgs}

    builder = StateGraph(BatchState)
    builder.add_node("model", model)
    builder.add_node(REVIEW_NODE, human_review)
    builder.add_node("tools", tools)
    builder.add_edge(START, "model")
    builder.add_edge("model", REVIEW_NODE)
    builder.add_edge(REVIEW_NODE, "tools")
    builder.add_edge("tools", END)
    return compile_demo(builder, checkpointer, GRAPH_ID)
