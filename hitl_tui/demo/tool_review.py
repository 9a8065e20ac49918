"""Tool calls and the LangChain `HumanInTheLoopMiddleware` decision protocol, built by hand (no langchain).

A decision is one of
    {"type": "approve"}
    {"type": "edit", "edited_action": {"name": str, "args": {...}}}
    {"type": "reject", "message": str?}
    {"type": "respond", "message": str}
`review(call, decision)` turns it into what to do, failing closed: anything malformed or not allowed for
that tool is a reject whose message says why, so a confused console can never make a tool run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hitl_tui.demo.offline import TOOLS, seed_of

# Which decisions each tool allows (shown in `review_configs`); deleting a file cannot be edited.
ALLOWED: dict[str, tuple[str, ...]] = {
    "delete_file": ("approve", "reject"),
    "transfer": ("approve", "edit", "reject"),
}
DEFAULT_ALLOWED = ("approve", "edit", "reject", "respond")

# The JSON schema of one decision, sent as `Interrupt.response_schema` by the per-call variant.
DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["approve", "edit", "reject", "respond"]},
        "edited_action": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "args": {"type": "object"}},
            "required": ["name", "args"],
        },
        "message": {"type": "string"},
    },
}


def allowed_decisions(name: str) -> list[str]:
    """The decisions a person may make about a call to tool `name`."""
    return list(ALLOWED.get(name, DEFAULT_ALLOWED))


def with_ids(thread_id: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each planned call a stable tool_call_id (same thread and plan -> same ids in every process)."""
    out = []
    for i, call in enumerate(calls):
        suffix = seed_of(thread_id, str(i), call["name"]) % 10**10
        out.append({"id": f"call_{i}_{suffix:010d}", **call})
    return out


def action_request(call: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of the middleware's `action_requests`."""
    return {"name": call["name"], "args": dict(call["args"]), "description": call.get("description")}


def review_config(call: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of the middleware's `review_configs`."""
    return {"action_name": call["name"], "allowed_decisions": allowed_decisions(call["name"])}


def review(call: Mapping[str, Any], decision: Any) -> dict[str, Any]:
    """{"id", "name", "args", "outcome": "run" | "rejected" | "responded", "message"} for one call."""
    base = {"id": call.get("id"), "name": call["name"], "args": dict(call["args"]), "message": None}

    def refuse(why: str) -> dict[str, Any]:
        return {**base, "outcome": "rejected", "message": why}

    if not isinstance(decision, Mapping) or not isinstance(decision.get("type"), str):
        return refuse(f"Not run: unrecognised decision {decision!r:.200}.")
    kind = decision["type"]
    if kind not in allowed_decisions(call["name"]):
        return refuse(f"Not run: decision {kind!r} is not allowed for {call['name']}.")
    if kind == "approve":
        return {**base, "outcome": "run"}
    if kind == "edit":
        edited = decision.get("edited_action")
        if not isinstance(edited, Mapping) or not isinstance(edited.get("args"), Mapping):
            return refuse("Not run: an edit needs edited_action {name, args}.")
        name = edited.get("name") or call["name"]
        if name not in TOOLS:
            return refuse(f"Not run: the edit names an unknown tool {name!r}.")
        return {**base, "name": name, "args": dict(edited["args"]), "outcome": "run"}
    message = decision.get("message")
    text = message if isinstance(message, str) else ""
    if kind == "respond":
        return {**base, "outcome": "responded", "message": text}
    return {**base, "outcome": "rejected", "message": text or "Rejected by a reviewer."}
