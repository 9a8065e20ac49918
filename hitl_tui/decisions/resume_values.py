"""Turn an operator's decisions into what the paused graph expects, for every payload shape.

Dynamic interrupts are resumed with `Command(resume={interrupt_id: value})` (the id form works for one pending
interrupt, for several, and for interrupts raised inside subgraphs). Static breakpoints are resumed with
`update_state(values)` then `invoke(None)`: the values come from the graph's section in config.toml.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hitl_tui.checkpoints.answer_schema import problem
from hitl_tui.config import GraphConfig
from hitl_tui.decisions.decision import Decision
from hitl_tui.errors import HitlError
from hitl_tui.model import ActionRequest, DecisionKind, PayloadShape, PendingInterrupt

D = DecisionKind


class InvalidDecision(HitlError):
    """The decision does not fit the pending interrupt (not allowed, missing reason, bad arguments...)."""


@dataclass(frozen=True)
class ResumePlan:
    """What a resumer does: `resume` goes into Command(resume={interrupt_id: resume}); `update` into update_state."""

    interrupt_id: str | None
    resume: Any = None
    update: dict[str, Any] | None = None  # static breakpoints only; None means invoke(None) without an update
    as_node: str | None = None


def edit_problem(action: ActionRequest, args: Any) -> str | None:
    """One sentence on why edited arguments don't fit the tool's schema (when the payload carries one), or None.
    The edit dialog and `hitl-tui edit` ask before anything is committed; plan_resume asks again."""
    why = problem(args, action.args_schema)
    return None if why is None else f"The edited arguments don't fit {action.name!r}'s schema ({why})."


def _check(interrupt: PendingInterrupt, decisions: Sequence[Decision]) -> None:
    if not decisions:
        raise InvalidDecision("No decision was given.")
    seen = set()
    for d in decisions:
        if not 0 <= d.action_index < len(interrupt.actions):
            raise InvalidDecision(f"This pause has no action number {d.action_index + 1}.")
        if d.action_index in seen:
            raise InvalidDecision(f"Action {d.action_index + 1} was decided twice in one submission.")
        seen.add(d.action_index)
        action = interrupt.actions[d.action_index]
        if d.kind not in action.allowed:
            allowed = ", ".join(sorted(k.value for k in action.allowed)) or "nothing"
            raise InvalidDecision(f"{d.kind.value} is not allowed for {action.name!r}; allowed: {allowed}.")
        if d.kind is D.REJECT and not (d.text and d.text.strip()):
            raise InvalidDecision("A reject needs a reason.")
        if d.kind is D.FEEDBACK and not (d.text and d.text.strip()):
            raise InvalidDecision("Feedback needs some text.")
        if d.kind is D.EDIT and interrupt.shape is not PayloadShape.RAW and not isinstance(d.args, Mapping):
            raise InvalidDecision("Edited arguments must be a JSON object.")
        if d.kind is D.EDIT and (why := edit_problem(action, d.args)):
            raise InvalidDecision(why)
    if interrupt.shape is PayloadShape.MIDDLEWARE_BATCH and len(decisions) != len(interrupt.actions):
        raise InvalidDecision(
            f"This pause carries {len(interrupt.actions)} actions; decide every one of them before submitting."
        )
    if interrupt.shape is not PayloadShape.MIDDLEWARE_BATCH and len(decisions) != 1:
        raise InvalidDecision("This pause takes exactly one decision.")


def _hitl(d: Decision, decision_id: str, operator: str) -> dict[str, Any]:
    return {
        "decision": d.kind.value,
        "args": dict(d.args) if d.kind is D.EDIT else None,
        "text": d.text,
        "decision_id": decision_id,
        "operator": operator,
    }


def _inbox(d: Decision, name: str) -> list[dict[str, Any]]:
    if d.kind is D.APPROVE:
        response: dict[str, Any] = {"type": "accept", "args": None}
    elif d.kind is D.EDIT:
        response = {"type": "edit", "args": {"action": name, "args": dict(d.args)}}
    elif d.kind is D.IGNORE:
        response = {"type": "ignore", "args": None}
    elif d.kind is D.REJECT:
        response = {"type": "response", "args": f"Rejected: {d.text}"}
    else:
        response = {"type": "response", "args": d.text}
    return [response]  # Agent Inbox graphs read `interrupt(...)[0]`


def _middleware(d: Decision, name: str) -> dict[str, Any]:
    if d.kind is D.APPROVE:
        return {"type": "approve"}
    if d.kind is D.EDIT:
        return {"type": "edit", "edited_action": {"name": name, "args": dict(d.args)}}
    if d.kind is D.REJECT:
        return {"type": "reject", "message": d.text}
    return {"type": "respond", "message": d.text}


def _fill(template: Any, fields: Mapping[str, str]) -> Any:
    """Substitute {reason}/{text}/{operator} in config strings, recursively; other braces stay as they are."""
    if isinstance(template, str):
        out = template
        for key, val in fields.items():
            out = out.replace("{" + key + "}", val)
        return out
    if isinstance(template, dict):
        return {k: _fill(v, fields) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, fields) for v in template]
    return template


def _breakpoint(
    interrupt: PendingInterrupt, d: Decision, graph: GraphConfig | None, operator: str
) -> ResumePlan:
    if graph is None:
        raise InvalidDecision(
            "This thread waits at a static breakpoint of a graph that config.toml does not describe, "
            "so hitl-tui does not know what state update means approve or reject."
        )
    fields = {"reason": d.text or "", "text": d.text or "", "operator": operator}
    if d.kind in (D.APPROVE, D.EDIT):
        update = _fill(graph.approve_update, fields)
        if d.kind is D.EDIT:
            target = graph.edit_field or graph.action_field
            if target is None:
                raise InvalidDecision(f"Graph {graph.name!r} names no action_field or edit_field to edit.")
            current = interrupt.value.get(target) if isinstance(interrupt.value, Mapping) else None
            if isinstance(current, Mapping) and "args" in current:
                update[target] = {**current, "args": dict(d.args)}
            else:
                update[target] = dict(d.args)
    elif d.kind is D.REJECT:
        if not graph.reject_update:
            raise InvalidDecision(f"Graph {graph.name!r} has no reject_update in config.toml; a reject can't reach it.")
        update = _fill(graph.reject_update, fields)
    elif d.kind is D.FEEDBACK:
        if not graph.feedback_update:
            raise InvalidDecision(f"Graph {graph.name!r} has no feedback_update in config.toml.")
        update = _fill(graph.feedback_update, fields)
    else:
        raise InvalidDecision("A static breakpoint can't be ignored.")
    return ResumePlan(interrupt_id=None, update=update or None)


def plan_resume(
    interrupt: PendingInterrupt,
    decisions: Sequence[Decision],
    *,
    graph: GraphConfig | None,
    decision_id: str,
    operator: str,
) -> ResumePlan:
    """Validate the decisions against the interrupt and build the resume plan; raises InvalidDecision."""
    _check(interrupt, decisions)
    ordered = sorted(decisions, key=lambda d: d.action_index)
    first = ordered[0]
    name = interrupt.actions[first.action_index].name
    shape = interrupt.shape
    if shape is PayloadShape.BREAKPOINT:
        return _breakpoint(interrupt, first, graph, operator)
    if shape is PayloadShape.HITL:
        value: Any = _hitl(first, decision_id, operator)
    elif shape is PayloadShape.AGENT_INBOX:
        value = _inbox(first, name)
    elif shape is PayloadShape.MIDDLEWARE_BATCH:
        value = {"decisions": [_middleware(d, interrupt.actions[d.action_index].name) for d in ordered]}
    elif shape is PayloadShape.MIDDLEWARE_PER_CALL:
        value = _middleware(first, name)
    else:  # RAW: free text, or a JSON value given through edit
        value = first.args if first.kind is D.EDIT else first.text
    # LangGraph checks an answer against the interrupt's response_schema inside the agent; refused there, the
    # decision would be recorded and the resume fail. Refuse it here instead, before anything is committed.
    why = problem(value, interrupt.response_schema)
    if why is not None:
        raise InvalidDecision(f"The agent's response schema refuses this answer ({why}).")
    return ResumePlan(interrupt_id=interrupt.interrupt_id, resume=value)
