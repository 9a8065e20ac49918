"""What agents written for hitl-tui call to ask a person: `request_approval(...)`.

The interrupt value is the project's own payload (`PayloadShape.HITL`):

    {"hitl_tui": 1, "action": str, "args": {...}, "description": str|None, "reasoning": str|None,
     "confidence": float|None, "risk": str|None, "allowed": ["approve", "edit", "reject", "feedback", "ignore"],
     "initiator": str|None}

and the console resumes it with

    {"decision": "approve"|"edit"|"reject"|"feedback"|"ignore", "args": {...}|None, "text": str|None,
     "decision_id": str|None, "operator": str|None}

With a confidence band (`band=`, or `[[policy.band]]` in the config.toml named by `config=` or the
HITL_TUI_CONFIG environment variable), `request_approval` decides without pausing at the edges: confidence
at or above `auto_approve_at` approves, strictly below `auto_reject_below` rejects, anything else (or no
usable confidence) pauses for a person. Every auto-decision is in the audit log; see hitl_tui.policy.band.

This module imports LangGraph only inside `request_approval`, so the console can import the schema cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitl_tui.model import PAYLOAD_MARKER, DecisionKind

if TYPE_CHECKING:
    from hitl_tui.config import BandConfig, Config

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
    audit_event_id: str | None = None  # for auto-decisions: the audit record that shows it

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
    band: BandConfig | Mapping[str, Any] | None = None,
    config: Config | str | Path | None = None,
    audit_log: str | Path | None = None,
    graph_id: str | None = None,
) -> Approval:
    """Pause the graph with `interrupt()` until a person decides; call it inside a LangGraph node.

    `band` (a BandConfig or {"auto_approve_at": .., "auto_reject_below": ..}) or the bands of `config` (a Config
    or a config.toml path; default $HITL_TUI_CONFIG) may decide without pausing; `audit_log` overrides where the
    auto-decision is recorded; `graph_id` overrides the run's graph id used to pick a band.
    """
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
    from hitl_tui.policy.band import auto_decide

    auto = auto_decide(action, args, payload, band=band, config=config, audit_log=audit_log, graph_id=graph_id)
    if auto is not None:
        return Approval(auto.decision, dict(args), text=auto.text, operator=auto.operator, auto=True,
                        audit_event_id=auto.event_id)
    from langgraph.types import interrupt

    return parse_resume(interrupt(payload), args)
