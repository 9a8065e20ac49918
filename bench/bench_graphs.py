"""Real LangGraph graphs whose threads seed the reader benchmark's DB (one run of each kind, copied many times).

Each kind is run to the state it should represent (paused in its own style, finished after an answer, failed),
with chat-sized messages in state so checkpoint blobs are the size real agents write (1-3 KB).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

from hitl_tui.agent import approval_payload

LOREM = (
    "The customer asked for a refund on order {n}; the parcel arrived damaged and photos are attached. "
    "Policy allows a full refund within 30 days when damage is documented, and the order is 12 days old. "
)


class AgentState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], operator.add]
    pending_action: dict[str, Any] | None  # {"calls": [...]}: what the agent wants to do
    human_feedback: str | None


def _msg(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": text, "id": f"msg-{abs(hash(text)) % 10**8}"}


def _calls(s: AgentState) -> list[dict[str, Any]]:
    return (s.get("pending_action") or {}).get("calls") or []


def _plan(s: AgentState) -> dict[str, Any]:
    text = LOREM.format(n=len(s.get("messages", []))) * 2
    calls = [{"name": "transfer", "args": {"to": "ACME", "amount": 120.5}},
             {"name": "send_email", "args": {"to": "ops@example.com", "body": text[:160]}},
             {"name": "delete_file", "args": {"path": "/srv/tmp/export.csv"}}]
    return {"messages": [_msg("assistant", text)], "pending_action": {"calls": calls, "reasoning": text[:120]}}


def _ask_hitl(s: AgentState) -> dict[str, Any]:
    call = _calls(s)[1]
    answer = interrupt(approval_payload(call["name"], call["args"], description="send the email",
                                        reasoning=LOREM.format(n=7), confidence=0.62, risk="medium"))
    return {"messages": [_msg("tool", f"answer: {answer}")]}


def _act(s: AgentState) -> dict[str, Any]:
    return {"messages": [_msg("tool", f"done: {_calls(s)[0]['name']}")]}


def email(saver: Any) -> Any:
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("ask", _ask_hitl)  # sends the email itself once approved
    g.add_edge(START, "plan")
    g.add_edge("plan", "ask")
    g.add_edge("ask", END)
    return g.compile(checkpointer=saver)


def _batch(s: AgentState) -> dict[str, Any]:
    answer = interrupt({
        "action_requests": [{"name": c["name"], "args": c["args"], "description": c["name"]} for c in _calls(s)],
        "review_configs": [{"action_name": c["name"], "allowed_decisions": ["approve", "edit", "reject"]}
                           for c in _calls(s)],
    })
    return {"messages": [_msg("tool", f"answer: {answer}")]}


def batch(saver: Any) -> Any:
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("HumanInTheLoopMiddleware.after_model", _batch)
    g.add_node("act", _act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "HumanInTheLoopMiddleware.after_model")
    g.add_edge("HumanInTheLoopMiddleware.after_model", "act")
    return g.compile(checkpointer=saver)


def _tool(s: dict[str, Any]) -> dict[str, Any]:
    c = s["call"]
    answer = interrupt({"type": "tool_approval", "tool_call_id": f"call_{c['name']}", "name": c["name"],
                        "args": c["args"], "description": c["name"]})
    return {"messages": [_msg("tool", f"{c['name']}: {answer}")]}


def per_call(saver: Any) -> Any:
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("tools", _tool)
    g.add_node("act", _act)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", lambda s: [Send("tools", {"call": c}) for c in _calls(s)], ["tools"])
    g.add_edge("tools", "act")
    return g.compile(checkpointer=saver)


def _review(name: str) -> Callable[[AgentState], dict[str, Any]]:
    def node(s: AgentState) -> dict[str, Any]:
        answer = interrupt({"question": f"{name} approval", "call": _calls(s)[0]})
        return {"messages": [_msg("tool", f"{name}: {answer}")]}

    return node


def parallel(saver: Any) -> Any:
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("finance", _review("finance"))
    g.add_node("security", _review("security"))
    g.add_node("act", _act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "finance")
    g.add_edge("plan", "security")
    g.add_edge(["finance", "security"], "act")
    return g.compile(checkpointer=saver)


def subgraph(saver: Any) -> Any:
    inner = StateGraph(AgentState)
    inner.add_node("inbox", lambda s: {"messages": [_msg("tool", str(interrupt({
        "action_request": {"action": "pay", "args": _calls(s)[0]["args"]},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": False},
        "description": "pay the invoice"})))]})
    inner.add_edge(START, "inbox")
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("payment", inner.compile())
    g.add_node("act", _act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "payment")
    g.add_edge("payment", "act")
    return g.compile(checkpointer=saver)


def _ask_plain(s: AgentState) -> dict[str, Any]:
    answer = interrupt(f"May I refund order {len(s.get('messages', []))} in full? The parcel arrived damaged.")
    return {"messages": [_msg("tool", f"answer: {answer}")]}


def plain(saver: Any) -> Any:
    """A bare string question: the commonest payload in tutorials."""
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("ask", _ask_plain)
    g.add_edge(START, "plan")
    g.add_edge("plan", "ask")
    g.add_edge("ask", END)
    return g.compile(checkpointer=saver)


def _inbox_request(s: AgentState) -> dict[str, Any]:
    answer = interrupt({
        "action_request": {"action": "send_email", "args": _calls(s)[1]["args"]},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "description": "send the reply"})
    return {"messages": [_msg("tool", f"answer: {answer}")]}


def inbox(saver: Any) -> Any:
    """Agent Inbox's HumanInterrupt at the root graph."""
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("inbox", _inbox_request)
    g.add_node("act", _act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "inbox")
    g.add_edge("inbox", "act")
    return g.compile(checkpointer=saver)


def nested(saver: Any) -> Any:
    """An interrupt two subgraphs deep (root -> review -> approval -> ask)."""
    innermost = StateGraph(AgentState)
    innermost.add_node("ask", _ask_hitl)
    innermost.add_edge(START, "ask")
    middle = StateGraph(AgentState)
    middle.add_node("approval", innermost.compile())
    middle.add_edge(START, "approval")
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("review", middle.compile())
    g.add_node("act", _act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "review")
    g.add_edge("review", "act")
    return g.compile(checkpointer=saver)


def _execute(s: AgentState) -> dict[str, Any]:
    ok = (s.get("human_feedback") or "").startswith("approved")
    return {"messages": [_msg("tool", "executed" if ok else "refused")], "pending_action": None}


def breakpoint_before(saver: Any) -> Any:
    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("execute", _execute)
    g.add_edge(START, "plan")
    g.add_edge("plan", "execute")
    return g.compile(checkpointer=saver, interrupt_before=["execute"])


def failing(saver: Any) -> Any:
    def work(s: AgentState) -> dict[str, Any]:
        raise RuntimeError("upstream API returned 503")

    g = StateGraph(AgentState)
    g.add_node("plan", _plan)
    g.add_node("work", work)
    g.add_edge(START, "plan")
    g.add_edge("plan", "work")
    return g.compile(checkpointer=saver)


BREAKPOINTS = {"breakpoint_before": ["execute"]}  # what config.toml says about these graphs (reader_bench.py too)

GRAPHS: dict[str, Callable[[Any], Any]] = {
    "email": email, "batch": batch, "per_call": per_call, "parallel": parallel, "subgraph": subgraph,
    "breakpoint_before": breakpoint_before, "failing": failing, "plain": plain, "inbox": inbox, "nested": nested,
}


def run_template(saver: Any, kind: str, finish: bool, thread_id: str) -> None:
    """Run one thread of `kind` until it pauses; with `finish`, answer everything until it ends."""
    graph = GRAPHS[kind](saver).with_config({"metadata": {"graph_id": kind}})
    config = {"configurable": {"thread_id": thread_id, "user_id": "alice"}}
    try:
        graph.invoke({"messages": [_msg("user", f"please handle ticket {thread_id}: " + LOREM.format(n=3))]}, config)
    except RuntimeError:
        return  # the failing kind: the error stays on the thread
    for _ in range(5):
        if not finish:
            return
        state = graph.get_state(config)
        if not state.next:
            return
        if state.interrupts:
            graph.invoke(Command(resume={i.id: {"type": "approve"} for i in state.interrupts}), config)
        else:
            graph.update_state(config, {"human_feedback": "approved"})
            graph.invoke(None, config)
    raise AssertionError(f"{kind} did not finish")
