"""One pause PER tool call: the `HumanInTheLoopMiddleware` `interrupt_mode="per_call"` shape.

    START -> model --Send per call--> tools (x N, in parallel, each pauses) -> finish -> END

Each `tools` task is a `Send` task that interrupts with
    {"type": "tool_approval", "tool_call_id", "name", "args", "description"}
(and a JSON schema of the decision as `Interrupt.response_schema`), so one thread has N pending interrupt
ids. Resume them with `Command(resume={interrupt_id: decision, ...})` (decision shapes in `tool_review`).
Answering only some ids runs those calls and leaves the others pending; a call that already ran is never
run again when the rest are answered.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt

from hitl_tui.demo import planner, tool_review
from hitl_tui.demo.kit import Effects, compile_demo, configurable, message

GRAPH_ID = "per_call_tools"
TOOLS_NODE = "tools"


class PerCallState(TypedDict, total=False):
    request: str
    messages: Annotated[list[dict[str, Any]], operator.add]
    tool_calls: list[dict[str, Any]]
    status: str  # planned | done


class ToolTask(TypedDict):
    tool_call: dict[str, Any]


def build_graph(checkpointer: Any) -> Any:
    """The compiled per-call review agent."""
    effects = Effects(checkpointer)

    def model(state: PerCallState, config: RunnableConfig) -> dict[str, Any]:
        thread = str(configurable(config).get("thread_id"))
        calls = tool_review.with_ids(thread, planner.plan_tool_calls(state["request"]))
        summary = "; ".join(c["description"] for c in calls)
        return {
            "tool_calls": calls,
            "status": "planned",
            "messages": [message("user", state["request"]), message("assistant", f"Tool calls: {summary}")],
        }

    def fan_out(state: PerCallState) -> list[Send] | str:
        calls = state.get("tool_calls") or []
        return [Send(TOOLS_NODE, {"tool_call": call}) for call in calls] or "finish"

    def tools(state: ToolTask, config: RunnableConfig) -> dict[str, Any]:
        call = state["tool_call"]  # the Send argument, not the graph state
        decision = interrupt(
            {
                "type": "tool_approval",
                "tool_call_id": call["id"],
                "name": call["name"],
                "args": dict(call["args"]),
                "description": call.get("description"),
            },
            response_schema=tool_review.DECISION_SCHEMA,
        )
        item = tool_review.review(call, decision)
        if item["outcome"] == "run":
            effects.run(item["name"], item["args"], config, call_id=call["id"])
            content = f"Ran {item['name']}."
        else:
            content = item["message"] or ""
        return {"messages": [message("tool", content, tool_call_id=call["id"], outcome=item["outcome"])]}

    def finish(state: PerCallState) -> dict[str, Any]:
        return {"status": "done"}

    builder = StateGraph(PerCallState)
    builder.add_node("model", model)
    builder.add_node(TOOLS_NODE, tools, input_schema=ToolTask)
    builder.add_node("finish", finish)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", fan_out, [TOOLS_NODE, "finish"])
    builder.add_edge(TOOLS_NODE, "finish")
    builder.add_edge("finish", END)
    return compile_demo(builder, checkpointer, GRAPH_ID)
