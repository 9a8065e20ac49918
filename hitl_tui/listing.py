"""`hitl-tui list`: the paused threads as a readable table or as JSON for scripts."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from hitl_tui.decision_state import DecisionState, item_key
from hitl_tui.model import PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.safe_text import visible


def interrupt_json(item: PendingInterrupt, state: DecisionState | None = None) -> dict[str, Any]:
    return {
        "interrupt_id": item.interrupt_id,
        "key": item.key,
        "namespace": item.namespace,
        "node": item.node,
        "shape": item.shape.value,
        "payload_hash": item.payload_hash,
        "value": item.value,
        "reasoning": item.reasoning,
        "confidence": item.confidence,
        "risk": item.risk,
        "actions": [
            {
                "name": a.name,
                "args": a.args,
                "description": a.description,
                "allowed": sorted(d.value for d in a.allowed),
            }
            for a in item.actions
        ],
        "decision": (state or DecisionState()).as_json(),
    }


def thread_json(thread: PendingThread, states: dict[str, DecisionState] | None = None) -> dict[str, Any]:
    """A thread as plain JSON (values are the decoded data, unaltered), with each interrupt's decision state."""
    return {
        "thread_id": thread.thread_id,
        "graph_id": thread.graph_id,
        "status": thread.status.value,
        "checkpoint_id": thread.checkpoint_id,
        "step": thread.step,
        "paused_at": thread.paused_at.isoformat() if thread.paused_at else None,
        "next": list(thread.next_nodes),
        "error": thread.error,
        "interrupts": [interrupt_json(i, _state(states, thread, i)) for i in thread.interrupts],
    }


# JSON escapes C0 controls itself; these others would reach a terminal raw (0x9B is a one-byte CSI).
_RAW_IN_JSON = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb\u2028\u2029\ud800-\udfff]"
)


def json_for_terminal(text: str) -> str:
    """JSON text with C1, DEL and bidi controls written as `\\uXXXX` escapes: the same JSON, safe to print."""
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "?"
    secs = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _state(states: dict[str, DecisionState] | None, thread: PendingThread, item: PendingInterrupt) -> DecisionState:
    found = states.get(item_key(thread.thread_id, thread.checkpoint_id, item.key)) if states else None
    return found or DecisionState()


def print_listing(
    threads: Sequence[PendingThread], *, as_json: bool, include_running: bool, out: TextIO, now: datetime | None = None,
    states: dict[str, DecisionState] | None = None,
) -> None:
    """Print paused threads (and, with include_running, running/stalled ones); `states`: each pending item's
    place in the ledger (see decision_state), shown as the DECISION column."""
    shown = [t for t in threads if include_running or t.status is not ThreadStatus.RUNNING_OR_STALLED]
    if as_json:
        text = json.dumps([thread_json(t, states) for t in shown], indent=2, ensure_ascii=False, default=repr)
        out.write(json_for_terminal(text) + "\n")
        return
    if not shown:
        out.write("No threads are waiting for a human.\n")
        return
    now = now or datetime.now(UTC)
    rows = [("THREAD", "GRAPH", "STATUS", "WAITING", "NODE", "ACTION", "INTERRUPT", "DECISION")]
    for t in shown:
        items = t.interrupts or ()
        if not items:
            rows.append((t.thread_id, t.graph_id or "-", t.status.value, _age(t.paused_at, now),
                         ",".join(t.next_nodes) or "-", t.error or "-", "-", "-"))
        for i in items:
            actions = ", ".join(a.name for a in i.actions)
            rows.append((t.thread_id, t.graph_id or "-", t.status.value, _age(t.paused_at, now), i.node, actions,
                         (i.interrupt_id or "breakpoint")[:12], _state(states, t, i).label))
    safe = [tuple(visible(str(c))[:60] for c in r) for r in rows]
    widths = [max(len(r[i]) for r in safe) for i in range(len(rows[0]))]
    for r in safe:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    paused = sum(1 for t in shown if t.status is ThreadStatus.PAUSED)
    out.write(f"\n{paused} thread(s) waiting, {sum(len(t.interrupts) for t in shown)} pending interrupt(s).\n")
