"""Small real LangGraph graphs in every pause style, and the oracle the reader is checked against.

The oracle is LangGraph itself: `graph.get_state(config, subgraphs=True)` for next nodes, interrupt ids,
values and subgraph namespaces, and LangGraph's own `should_interrupt` for static breakpoints (which leave no
marker in the DB). Imported by tests/test_reader_*.py; kept out of conftest.py.
"""

from __future__ import annotations

import json
import operator
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.pregel._algo import should_interrupt
from langgraph.types import Send, StateSnapshot, interrupt

from hitl_tui.agent import approval_payload
from hitl_tui.checkpoints.classify import NULL_TASK_ID, Breakpoints
from hitl_tui.checkpoints.payloads import breakpoint_view
from hitl_tui.config import GraphConfig
from hitl_tui.model import PendingThread, ThreadStatus

# -- databases -------------------------------------------------------------------------------------------------


@contextmanager
def open_saver(path: Path) -> Iterator[SqliteSaver]:
    """A file-backed SqliteSaver, as an agent process would use it."""
    conn = sqlite3.connect(path, check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    try:
        yield saver
    finally:
        conn.close()


@contextmanager
def open_pg_saver(dsn: str) -> Iterator[Any]:
    """LangGraph's own PostgresSaver on a test database, as an agent on another host would use it."""
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(dsn) as saver:
        saver.setup()
        yield saver


def cfg(thread_id: str, graph_id: str | None = None) -> dict[str, Any]:
    """A run config; the graph id lands in checkpoint metadata like a real deployment's assistant id."""
    out: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
    if graph_id:
        out["metadata"] = {"graph_id": graph_id}
    return out


# -- graphs ------------------------------------------------------------------------------------------------------


class State(TypedDict, total=False):
    log: Annotated[list, operator.add]
    calls: list
    fail: bool
    rounds: int
    pending_action: dict | None
    human_feedback: str | None
    messages: Annotated[list, operator.add]


def _note(name: str) -> Callable[[State], dict[str, Any]]:
    return lambda s: {"log": [name]}


def _ask(name: str, payload: Callable[[State], Any]) -> Callable[[State], dict[str, Any]]:
    def node(s: State) -> dict[str, Any]:
        return {"log": [f"{name}={json.dumps(interrupt(payload(s)), sort_keys=True)}"]}

    return node


def _approval(action: str) -> Callable[[State], Any]:
    return lambda s: approval_payload(action, {"n": len(s.get("log", []))}, reasoning="because", confidence=0.5)


@dataclass
class Shape:
    """A graph under test: how to build it, what to start it with, and its static breakpoints."""

    name: str
    build: Callable[..., Any]
    start: dict[str, Any] = field(default_factory=lambda: {"log": []})
    breakpoints: Breakpoints = field(default_factory=Breakpoints)
    graph_config: GraphConfig | None = None

    def compile(self, saver: SqliteSaver) -> Any:
        graph = self.build(saver, self.breakpoints)
        return graph.with_config({"metadata": {"graph_id": self.name}})


def root_interrupt(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """plan -> ask (interrupt; answering "again" asks once more) -> act."""
    g = StateGraph(State)
    g.add_node("plan", _note("plan"))
    g.add_node("ask", _ask("ask", _approval("send_email")))
    g.add_node("act", _note("act"))
    g.add_edge(START, "plan")
    g.add_edge("plan", "ask")
    g.add_conditional_edges("ask", lambda s: "ask" if s["log"][-1].endswith('"again"') else "act", ["ask", "act"])
    g.add_edge("act", END)
    return g.compile(checkpointer=saver)


def parallel(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """Two branches interrupt in the same step, then a join."""
    g = StateGraph(State)
    g.add_node("a", _ask("a", lambda s: {"question": "finance?", "amount": 12.5}))
    g.add_node("b", _ask("b", lambda s: "security?"))
    g.add_node("c", _note("c"))
    g.add_node("join", _note("join"))
    g.add_edge(START, "a")
    g.add_edge(START, "b")
    g.add_edge(START, "c")
    g.add_edge(["a", "b", "c"], "join")
    g.add_edge("join", END)
    return g.compile(checkpointer=saver)


def _inner_graph() -> Any:
    g = StateGraph(State)
    g.add_node("check", _note("check"))
    g.add_node("ask", _ask("inner", lambda s: {"action_request": {"action": "pay", "args": {"to": "x"}},
                                              "config": {"allow_accept": True, "allow_respond": True},
                                              "description": "pay x"}))
    g.add_edge(START, "check")
    g.add_edge("check", "ask")
    return g.compile()


def subgraph(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """pre -> sub (a subgraph whose node interrupts) -> post."""
    g = StateGraph(State)
    g.add_node("pre", _note("pre"))
    g.add_node("sub", _inner_graph())
    g.add_node("post", _note("post"))
    g.add_edge(START, "pre")
    g.add_edge("pre", "sub")
    g.add_edge("sub", "post")
    return g.compile(checkpointer=saver)


def nested(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """A subgraph inside a subgraph interrupts, while a root node interrupts in the same step."""
    mid = StateGraph(State)
    mid.add_node("inner", _inner_graph())
    mid.add_node("after_inner", _ask("mid", lambda s: ["mid question"]))
    mid.add_edge(START, "inner")
    mid.add_edge("inner", "after_inner")
    g = StateGraph(State)
    g.add_node("mid", mid.compile())
    g.add_node("root_ask", _ask("root", lambda s: {"root": True}))
    g.add_node("done", _note("done"))
    g.add_edge(START, "mid")
    g.add_edge(START, "root_ask")
    g.add_edge(["mid", "root_ask"], "done")
    return g.compile(checkpointer=saver)


def _per_call(s: dict[str, Any]) -> dict[str, Any]:
    call = s["call"]
    value = {"type": "tool_approval", "tool_call_id": f"call_{call}", "name": "delete_file",
             "args": {"path": f"/tmp/{call}"}, "description": f"delete {call}"}
    return {"log": [f"tools:{call}={json.dumps(interrupt(value), sort_keys=True)}"]}


def sends(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """plan -> one Send per call to `tools` (each interrupts) -> done."""
    g = StateGraph(State)
    g.add_node("plan", _note("plan"))
    g.add_node("tools", _per_call)
    g.add_node("done", _note("done"))
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", lambda s: [Send("tools", {"call": c}) for c in s.get("calls", [])], ["tools"])
    g.add_edge("tools", "done")
    return g.compile(checkpointer=saver)


def _plan(s: State) -> dict[str, Any]:
    n = s.get("rounds", 0) + 1
    return {"rounds": n, "pending_action": {"action": "transfer", "args": {"amount": 100 * n}}, "human_feedback": None,
            "messages": [{"role": "ai", "content": f"plan {n}"}]}


def _execute(s: State) -> dict[str, Any]:
    ok = (s.get("human_feedback") or "").startswith("approved")
    return {"log": ["executed" if ok else "refused"], "pending_action": None}


def classic(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """The tutorial shape: plan -> [breakpoint] execute -> (re-plan unless approved) ; static breakpoints only."""
    g = StateGraph(State)
    g.add_node("plan", _plan)
    g.add_node("review", _note("review"))
    g.add_node("execute", _execute)
    g.add_edge(START, "plan")
    g.add_edge("plan", "review")
    g.add_edge("review", "execute")
    g.add_conditional_edges("execute", lambda s: END if s["log"][-1] == "executed" or s["rounds"] > 2 else "plan",
                            ["plan", END])
    return g.compile(checkpointer=saver, interrupt_before=sorted(bp.before), interrupt_after=sorted(bp.after))


def failing(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """work raises while state says fail; an update_state(fail=False) and a re-run get past it."""

    def work(s: State) -> dict[str, Any]:
        if s.get("fail"):
            raise ValueError("the tool is down")
        return {"log": ["work"]}

    g = StateGraph(State)
    g.add_node("work", work)
    g.add_node("ask", _ask("ask", lambda s: "continue?"))
    g.add_edge(START, "work")
    g.add_edge("work", "ask")
    return g.compile(checkpointer=saver)


def deferred(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """A join into a deferred node, then a final node: trigger channels stored as (value, finished)."""
    g = StateGraph(State)
    g.add_node("a", _note("a"))
    g.add_node("b", _note("b"))
    g.add_node("b2", _ask("b2", lambda s: "b2?"))
    g.add_node("j", _note("j"), defer=True)
    g.add_node("fin", _note("fin"))
    g.add_edge(START, "a")
    g.add_edge(START, "b")
    g.add_edge("b", "b2")
    g.add_edge(["a", "b2"], "j")
    g.add_edge("j", "fin")
    return g.compile(checkpointer=saver, interrupt_before=sorted(bp.before), interrupt_after=sorted(bp.after))


def twice(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """One node interrupts twice in a row (the second at the same checkpoint, after a resume write)."""

    def node(s: State) -> dict[str, Any]:
        first = interrupt("first question")
        second = interrupt({"second": first})
        return {"log": [f"{first}/{second}"]}

    g = StateGraph(State)
    g.add_node("two", node)
    g.add_node("other", _note("other"))
    g.add_edge(START, "two")
    g.add_edge("two", END)
    return g.compile(checkpointer=saver)


def functional(saver: SqliteSaver, bp: Breakpoints) -> Any:
    """The functional API: an entrypoint that interrupts, then a @task that interrupts."""

    @task
    def confirm(x: str) -> Any:
        return interrupt({"confirm": x})

    @entrypoint(checkpointer=saver)
    def workflow(request: dict[str, Any]) -> list[Any]:
        answer = interrupt({"ask": request.get("log", [])})
        return [answer, confirm(str(answer)).result()]

    return workflow


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("root", root_interrupt),
        Shape("parallel", parallel),
        Shape("subgraph", subgraph),
        Shape("nested", nested),
        Shape("sends", sends, start={"log": [], "calls": ["x", "y", "z"]}),
        Shape("classic_before", classic, start={"log": [], "rounds": 0},
              breakpoints=Breakpoints(before=frozenset({"execute"})),
              graph_config=GraphConfig(name="classic_before", interrupt_before=("execute",),
                                       action_field="pending_action")),
        Shape("classic_after", classic, start={"log": [], "rounds": 0},
              breakpoints=Breakpoints(after=frozenset({"plan"}))),
        Shape("failing", failing, start={"log": [], "fail": True}),
        Shape("deferred", deferred),
        Shape("deferred_bp", deferred, breakpoints=Breakpoints(before=frozenset({"j"}), after=frozenset({"a"}))),
        Shape("twice", twice),
        Shape("functional", functional),
    )
}


# -- the oracle --------------------------------------------------------------------------------------------------


def _interrupt_sites(state: StateSnapshot, ns: str = "") -> dict[str, tuple[str, str]]:
    """Interrupt id -> (namespace, node) of the innermost graph that raised it."""
    out: dict[str, tuple[str, str]] = {}
    for t in state.tasks:
        for i in t.interrupts:
            out.setdefault(i.id, (ns, t.name))
        if isinstance(t.state, StateSnapshot):
            out.update(_interrupt_sites(t.state, t.state.config["configurable"]["checkpoint_ns"]))
    return out


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def summary_of(thread: PendingThread | None) -> dict[str, Any] | None:
    """What the reader says about a thread, in the oracle's terms."""
    if thread is None:
        return None
    return {
        "checkpoint_id": thread.checkpoint_id,
        "step": thread.step,
        "status": thread.status.value,
        "next": sorted(Counter(thread.next_nodes).items()),
        "interrupts": sorted((i.interrupt_id or "", i.namespace, i.node, _canon(i.value)) for i in thread.interrupts),
        "failed": thread.error is not None,
    }


BREAKPOINT = "<breakpoint>"


def expected_summary(graph: Any, saver: SqliteSaver, thread_id: str, shape: Shape) -> dict[str, Any] | None:
    """What LangGraph says about a thread; None when it has finished (or does not exist).

    A static breakpoint's node is given as the set of nodes LangGraph would have stopped for (`bp_nodes`).
    """
    config = {"configurable": {"thread_id": thread_id}}
    saved = saver.get_tuple(config)
    if saved is None:
        return None
    st = graph.get_state(config, subgraphs=True)
    if not st.next and not st.interrupts:
        return None
    sites = _interrupt_sites(st)
    interrupts = sorted((i.id, *sites[i.id], _canon(i.value)) for i in st.interrupts)
    status = ThreadStatus.PAUSED if interrupts else ThreadStatus.RUNNING_OR_STALLED
    hits = set() if interrupts else breakpoint_nodes(graph, saved, st, shape.breakpoints)
    if hits:
        status = ThreadStatus.PAUSED
        interrupts = [("", "", BREAKPOINT, _canon(breakpoint_view(st.values, shape.graph_config)))]
    return {
        "checkpoint_id": st.config["configurable"]["checkpoint_id"],
        "step": st.metadata["step"],
        "status": status.value,
        "next": sorted(Counter(st.next).items()),
        "interrupts": interrupts,
        "failed": any(t.error for t in st.tasks),
        "bp_nodes": sorted(hits),
    }


def breakpoint_nodes(graph: Any, saved: Any, st: StateSnapshot, bp: Breakpoints) -> set[str]:
    """The nodes LangGraph stopped for with interrupt_before/after, by its own `should_interrupt`."""
    if any(w[0] != NULL_TASK_ID for w in saved.pending_writes):
        return set()  # the step is under way (or died): the run went past any breakpoint
    if bp.before:
        hit = should_interrupt(saved.checkpoint, sorted(bp.before), st.tasks)
        if hit:
            return {t.name for t in hit}
    if bp.after and saved.metadata.get("source") == "loop" and saved.parent_config:
        ran = graph.get_state(saved.parent_config).tasks
        return {t.name for t in should_interrupt(saved.checkpoint, sorted(bp.after), ran)}
    return set()


def assert_matches(thread: PendingThread | None, graph: Any, saver: SqliteSaver, thread_id: str, shape: Shape) -> None:
    """The reader's view of one thread equals LangGraph's."""
    got, want = summary_of(thread), expected_summary(graph, saver, thread_id, shape)
    if got is not None and want is not None:
        bp_nodes = want.pop("bp_nodes")
        if bp_nodes and got["interrupts"] and got["interrupts"][0][0] == "":
            iid, ns, node, value = got["interrupts"][0]
            assert node in bp_nodes, f"thread {thread_id}: breakpoint at {node}, LangGraph stopped for {bp_nodes}"
            got["interrupts"] = [(iid, ns, BREAKPOINT, value)]
    assert got == want, f"thread {thread_id}: reader {got} != LangGraph {want}"
