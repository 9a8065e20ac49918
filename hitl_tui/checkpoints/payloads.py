"""Normalise every interrupt payload shape into `PendingInterrupt` with its `ActionRequest`s.

Recognition is structural and strict: a value is one of the known shapes only if it has that shape's required keys
with the right types; anything else is RAW and is answered with free text or JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hitl_tui.checkpoints.answer_schema import decision_types, edit_args_schema
from hitl_tui.config import GraphConfig
from hitl_tui.model import PAYLOAD_MARKER, ActionRequest, DecisionKind, PayloadShape, PendingInterrupt

D = DecisionKind
# LangChain middleware names "respond" what we call feedback.
_MIDDLEWARE_DECISIONS = {"approve": D.APPROVE, "edit": D.EDIT, "reject": D.REJECT, "respond": D.FEEDBACK}
_INBOX_FLAGS = {"allow_accept": D.APPROVE, "allow_edit": D.EDIT, "allow_respond": D.FEEDBACK, "allow_ignore": D.IGNORE}


_KINDS: dict[str, DecisionKind] = {d.value: d for d in DecisionKind}
# A parser's answer: the actions and the extras (reasoning, confidence, risk), or None when it isn't its shape.
_Parsed = tuple[tuple[ActionRequest, ...], dict[str, Any]] | None


_ALLOWED_SETS: dict[frozenset[DecisionKind], frozenset[DecisionKind]] = {}


def _shared(kinds: frozenset[DecisionKind]) -> frozenset[DecisionKind]:
    """One object per distinct set (at most 2^5) instead of one per action of 40,000 listed threads."""
    return _ALLOWED_SETS.setdefault(kinds, kinds)


def _allowed(names: Any, table: Mapping[str, DecisionKind]) -> frozenset[DecisionKind]:
    """The decision kinds named in `names` (unknown or odd entries are ignored, never an error)."""
    if not isinstance(names, list | tuple):
        return frozenset()
    return _shared(frozenset(table[n] for n in names if isinstance(n, str) and n in table))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def _extras(value: Mapping[str, Any]) -> dict[str, Any]:
    """Reasoning / confidence / risk when an agent put them next to its request."""
    return {
        "reasoning": _text(value.get("reasoning")),
        "confidence": _confidence(value.get("confidence")),
        "risk": _text(value.get("risk")),
    }


def _hitl(value: Mapping[str, Any], response_schema: Any = None) -> _Parsed:
    if not isinstance(value.get("action"), str):
        return None
    allowed = _allowed(value.get("allowed") or _HITL_DEFAULT, _KINDS)
    action = ActionRequest(
        name=value["action"],
        args=value.get("args", {}),
        description=_text(value.get("description")),
        allowed=allowed,
        args_schema=value.get("args_schema") if isinstance(value.get("args_schema"), Mapping) else None,
    )
    extras = _extras(value)
    extras["initiator"] = _text(value.get("initiator"))
    return (action,), extras


def _middleware_batch(value: Mapping[str, Any], response_schema: Any = None) -> _Parsed:
    requests, configs = value.get("action_requests"), value.get("review_configs")
    if not isinstance(requests, list) or not isinstance(configs, list) or not requests:
        return None
    if not all(isinstance(r, Mapping) and isinstance(r.get("name"), str) for r in requests):
        return None
    by_name = {c["action_name"]: c for c in configs if isinstance(c, Mapping) and isinstance(c.get("action_name"), str)}
    actions = []
    for req in requests:
        cfg = by_name.get(req["name"], {})
        allowed = _allowed(cfg.get("allowed_decisions", ["approve", "edit", "reject"]), _MIDDLEWARE_DECISIONS)
        actions.append(
            ActionRequest(
                name=req["name"],
                args=req.get("args", {}),
                description=_text(req.get("description")),
                allowed=allowed,
                args_schema=cfg.get("args_schema"),
            )
        )
    return tuple(actions), _extras(value)


def _middleware_per_call(value: Mapping[str, Any], response_schema: Any = None) -> _Parsed:
    if value.get("type") != "tool_approval" or not isinstance(value.get("name"), str):
        return None
    # The middleware says what the tool allows in the interrupt's response_schema (LangGraph validates the answer
    # against it): offering anything else strands the interrupt. Older payloads listed allowed_decisions inline.
    names = decision_types(response_schema) or value.get("allowed_decisions", ["approve", "edit", "reject", "respond"])
    action = ActionRequest(
        name=value["name"], args=value.get("args", {}), description=_text(value.get("description")),
        allowed=_allowed(names, _MIDDLEWARE_DECISIONS), args_schema=edit_args_schema(response_schema),
    )
    return (action,), _extras(value)


def _agent_inbox(value: Any, response_schema: Any = None) -> _Parsed:
    if isinstance(value, list) and len(value) == 1:  # older Agent Inbox graphs interrupt with a one-element list
        value = value[0]
    if not isinstance(value, Mapping):
        return None
    request, flags = value.get("action_request"), value.get("config")
    if not isinstance(request, Mapping) or not isinstance(request.get("action"), str) or not isinstance(flags, Mapping):
        return None
    allowed = _shared(frozenset(kind for flag, kind in _INBOX_FLAGS.items() if flags.get(flag)))
    # Agent Inbox has no reject: a reason is sent as a "response", which is what our REJECT maps to.
    if D.FEEDBACK in allowed:
        allowed = _shared(allowed | {D.REJECT})
    action = ActionRequest(
        name=request["action"],
        args=request.get("args", {}),
        description=_text(value.get("description")),
        allowed=allowed,
    )
    return (action,), _extras(value)


_RAW_ALLOWED = _shared(frozenset({D.FEEDBACK, D.EDIT}))
_HITL_DEFAULT = [d.value for d in (D.APPROVE, D.EDIT, D.REJECT, D.FEEDBACK)]
_MAPPING_SHAPES = (
    (PayloadShape.HITL, PAYLOAD_MARKER, _hitl),
    (PayloadShape.MIDDLEWARE_BATCH, "action_requests", _middleware_batch),
    (PayloadShape.MIDDLEWARE_PER_CALL, "type", _middleware_per_call),
    (PayloadShape.AGENT_INBOX, "action_request", _agent_inbox),
)


def detect_shape(
    value: Any, response_schema: Any = None
) -> tuple[PayloadShape, tuple[ActionRequest, ...], dict[str, Any]]:
    """Which shape a dynamic interrupt value speaks, with its actions and extras."""
    if isinstance(value, dict | Mapping):
        # Each shape is tried only when its distinguishing key is there (the parsers check the rest).
        for shape, key, parser in _MAPPING_SHAPES:
            if key in value:
                parsed = parser(value, response_schema)
                if parsed:
                    return shape, parsed[0], parsed[1]
    elif isinstance(value, list):
        parsed = _agent_inbox(value)
        if parsed:
            return PayloadShape.AGENT_INBOX, parsed[0], parsed[1]
    description = value if isinstance(value, str) else None
    # Free text answers it; EDIT answers it with a JSON value of the operator's choosing.
    raw = ActionRequest(name="input", args=value, description=description, allowed=_RAW_ALLOWED)
    extras = _extras(value) if isinstance(value, Mapping) else {}
    return PayloadShape.RAW, (raw,), extras


def normalise_interrupt(
    value: Any, *, interrupt_id: str, namespace: str, node: str, response_schema: Any = None
) -> PendingInterrupt:
    """A dynamic `interrupt()` as the console and decisions layer see it."""
    shape, actions, extras = detect_shape(value, response_schema)
    return PendingInterrupt(
        interrupt_id=interrupt_id,
        namespace=namespace,
        node=node,
        value=value,
        shape=shape,
        actions=actions,
        response_schema=response_schema,
        **extras,
    )


def breakpoint_view(state: Mapping[str, Any], graph: GraphConfig | None) -> dict[str, Any]:
    """The part of a thread's state an operator reviews at a static breakpoint (messages shown separately)."""
    skip = {graph.messages_field if graph else "messages"}
    return {k: v for k, v in state.items() if k not in skip and not k.startswith(("branch:", "join:", "__"))}


def normalise_breakpoint(node: str, when: str, state: Mapping[str, Any], graph: GraphConfig | None) -> PendingInterrupt:
    """A static breakpoint (`interrupt_before`/`interrupt_after` on `node`), read from the thread's state."""
    view = breakpoint_view(state, graph)
    field = graph.action_field if graph else None
    pending = view.get(field) if field else None
    name, args, description = f"{when} {node}", view, None
    if isinstance(pending, Mapping):
        for key in ("action", "name", "tool"):
            if isinstance(pending.get(key), str):
                name = pending[key]
                break
        args = pending.get("args", {k: v for k, v in pending.items() if k not in ("action", "name", "tool")})
        description = _text(pending.get("description"))
    allowed = {D.APPROVE, D.REJECT, D.FEEDBACK}
    if field or (graph and graph.edit_field):
        allowed.add(D.EDIT)
    extras = _extras(pending) if isinstance(pending, Mapping) else {}
    return PendingInterrupt(
        interrupt_id=None,
        namespace="",
        node=node,
        value=view,
        shape=PayloadShape.BREAKPOINT,
        actions=(ActionRequest(name=name, args=args, description=description, allowed=frozenset(allowed)),),
        **extras,
    )
