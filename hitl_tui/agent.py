"""What agents written for hitl-tui call to ask a person: `request_approval(...)`.

The interrupt value is the project's own payload (`PayloadShape.HITL`):

    {"hitl_tui": 1, "action": str, "args": {...}, "description": str|None, "reasoning": str|None,
     "confidence": float|None, "risk": str|None, "allowed": ["approve", "edit", "reject", "feedback", "ignore"],
     "initiator": str|None}

and the console resumes it with

    {"decision": "approve"|"edit"|"reject"|"feedback"|"ignore", "args": {...}|None, "text": str|None,
     "decision_id": str|None, "operator": str|None}

This module imports LangGraph only inside `request_approval`, so the console can import the schema cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hitl_tui.model import DecisionKind

PAYLOAD_MARKER = "hitl_tui"
PAYLOAD_VERSION = 1
DEFAULT_ALLOWED = (DecisionKind.APPROVE, DecisionKind.EDIT, DecisionKind.REJECT, DecisionKind.FEEDBACK)


def approval_payload(
    action: str,
    args: Mapping[str, Any],
    *,
    description: str | None = None,
    reasoning: str | None = None,
    confidence: float | None = None,
    risk: str | None = None,
    allowed: Iterable[DecisionKind | str] = DEFAULT_ALLOWED,
    initiator: str | None = None,
) -> dict[str, Any]:
    """The interrupt value hitl-tui understands best."""
    return {
        PAYLOAD_MARKER: PAYLOAD_VERSION,
        "action": action,
        "args": dict(args),
        "description": description,
        "reasoning": reasoning,
        "confidence": confidence,
        "risk": risk,
        "allowed": [DecisionKind(a).value for a in allowed],
        "initiator": initiator,
    }


@dataclass(frozen=True)
class Approval:
    """A person's (or a policy's) answer, as the agent sees it."""

    decision: DecisionKind
    args: dict[str, Any]  # the arguments to act with: edited ones after an edit, else the original
    text: str | None = None  # reject reason or feedback text
    decision_id: str | None = None  # use it as an idempotency key for the side effect
    operator: str | None = None
    auto: bool = False  # decided by a confidence band without pausing

    @property
    def approved(self) -> bool:
        """True when the action should run (approved as-is or after an edit)."""
        return self.decision in (DecisionKind.APPROVE, DecisionKind.EDIT)


def parse_resume(value: Any, original_args: Mapping[str, Any]) -> Approval:
    """Turn the resume value back into an Approval; anything unrecognised counts as a reject."""
    if isinstance(value, Mapping) and isinstance(value.get("decision"), str):
        try:
            kind = DecisionKind(value["decision"])
        except ValueError:
            kind = DecisionKind.REJECT
        new_args = value.get("args")
        args = dict(new_args) if kind is DecisionKind.EDIT and isinstance(new_args, Mapping) else dict(original_args)
        text = value.get("text")
        return Approval(
            decision=kind,
            args=args,
            text=text if isinstance(text, str) else None,
            decision_id=value.get("decision_id"),
            operator=value.get("operator"),
        )
    # Fail closed: an answer we don't understand never approves.
    return Approval(DecisionKind.REJECT, dict(original_args), text=f"unrecognised resume value: {value!r}"[:500])


def request_approval(
    action: str,
    args: Mapping[str, Any],
    *,
    description: str | None = None,
    reasoning: str | None = None,
    confidence: float | None = None,
    risk: str | None = None,
    allowed: Iterable[DecisionKind | str] = DEFAULT_ALLOWED,
    initiator: str | None = None,
) -> Approval:
    """Pause the graph with `interrupt()` until a person decides; call it inside a LangGraph node."""
    from langgraph.types import interrupt

    payload = approval_payload(
        action,
        args,
        description=description,
        reasoning=reasoning,
        confidence=confidence,
        risk=risk,
        allowed=allowed,
        initiator=initiator,
    )
    return parse_resume(interrupt(payload), args)
