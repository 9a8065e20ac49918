"""A small agent for the decisions tests: one approval, one outbox line per execution, and kill switches.

    START -> ask --approved--> act -> END
                 |--otherwise--> END

`ask` pauses with the project's own payload (`request_approval`), or, when the run's `kind` is "raw", with a
raw value (a question string, or a dict with `kind` "raw_json") answered by free text or JSON. `act` appends
one outbox line per execution. With HITL_TEST_KILL=before_effect|after_effect in the environment, `act`
SIGKILLs its own process right before or right after that write, so tests can crash a resumer exactly at the
side effect. Loaded by hitl-tui from config.toml as `graph = "<this file>:build_graph"`.

`breakpoint_graph` is the same agent with a static breakpoint before `act` instead of `request_approval`;
`twin_graph` is `build_graph` under another graph id (tests point config.toml at something unloadable for it).
"""

from __future__ import annotations

import operator
import os
import signal
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from hitl_tui.agent import request_approval
from hitl_tui.demo.kit import Effects, compile_demo

GRAPH_ID = "crashy"
BREAKPOINT_GRAPH_ID = "crashy_breakpoint"
TWIN_GRAPH_ID = "crashy_twin"
KILL_ENV = "HITL_TEST_KILL"
ACTION = "ship"


class CrashyState(TypedDict, total=False):
    request: str
    kind: str  # "hitl" (default) | "raw" | "raw_json"
    args: dict[str, Any]
    decision: str
    answer: Any
    human_feedback: str | None
    messages: Annotated[list[str], operator.add]
    status: str  # waiting | shipped | declined | answered


def _kill_if(point: str) -> None:
    if os.environ.get(KILL_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _act(effects: Effects) -> Any:
    def act(state: CrashyState, config: RunnableConfig) -> dict[str, Any]:
        _kill_if("before_effect")
        effects.run(ACTION, state["args"], config)
        _kill_if("after_effect")
        return {"status": "shipped", "messages": ["shipped"]}

    return act


def build_graph(checkpointer: Any) -> Any:
    """The dynamic-interrupt variant."""
    return _dynamic(checkpointer, GRAPH_ID)


def twin_graph(checkpointer: Any) -> Any:
    """The dynamic-interrupt variant under its own graph id."""
    return _dynamic(checkpointer, TWIN_GRAPH_ID)


def _dynamic(checkpointer: Any, graph_id: str) -> Any:
    effects = Effects(checkpointer)

    def prepare(state: CrashyState) -> dict[str, Any]:
        return {"args": {"item": state["request"]}, "status": "waiting", "messages": [state["request"]]}

    def ask(state: CrashyState) -> dict[str, Any]:
        kind = state.get("kind", "hitl")
        if kind == "raw":
            return {"answer": interrupt(f"Which colour should {state['request']} be?"), "status": "answered"}
        if kind == "raw_json":
            question = {"question": "Pick a size", "item": state["request"], "options": ["S", "M", "L"]}
            return {"answer": interrupt(question), "status": "answered"}
        answer = request_approval(ACTION, state["args"], description=f"Ship {state['request']}")
        if answer.approved:
            return {"decision": answer.decision.value, "args": answer.args}
        note = f"{answer.decision.value}: {answer.text}" if answer.text else answer.decision.value
        return {"decision": answer.decision.value, "status": "declined", "messages": [note]}

    def route(state: CrashyState) -> str:
        return "act" if state.get("decision") in ("approve", "edit") else END

    builder = StateGraph(CrashyState)
    builder.add_node("prepare", prepare)
    builder.add_node("ask", ask)
    builder.add_node("act", _act(effects))
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "ask")
    builder.add_conditional_edges("ask", route, ["act", END])
    builder.add_edge("act", END)
    return compile_demo(builder, checkpointer, graph_id)


def breakpoint_graph(checkpointer: Any) -> Any:
    """The static-breakpoint variant: pauses before `act`; `act` runs only when human_feedback is 'approved'."""
    effects = Effects(checkpointer)
    act = _act(effects)

    def prepare(state: CrashyState) -> dict[str, Any]:
        return {"args": {"item": state["request"]}, "status": "waiting", "human_feedback": None,
                "messages": [state["request"]]}

    def guarded(state: CrashyState, config: RunnableConfig) -> dict[str, Any]:
        if state.get("human_feedback") != "approved":
            return {"status": "declined", "messages": [f"not shipped: {state.get('human_feedback')}"]}
        return act(state, config)

    builder = StateGraph(CrashyState)
    builder.add_node("prepare", prepare)
    builder.add_node("act", guarded)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "act")
    builder.add_edge("act", END)
    return compile_demo(builder, checkpointer, BREAKPOINT_GRAPH_ID, interrupt_before=["act"])
