"""`hitl-tui list`: the paused threads as a readable table, or as JSON for scripts (one array, or one thread per
line streamed as the DB is read).

Each output has one function that builds a thread's row (`thread_json`, `table_rows`): a new column goes there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from hitl_tui.cli.list_filter import ListFilter
from hitl_tui.clock import age_text
from hitl_tui.decisions.state import DecisionState, item_key
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.safe_text import json_for_terminal, visible

States = dict[str, DecisionState]  # by decisions.state.item_key

# Built once: encode() of an encoder without indent runs json's C encoder over the whole value.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr)
_PRETTY = json.JSONEncoder(ensure_ascii=False, indent=2, default=repr)


_ALLOWED_NAMES: dict[frozenset[DecisionKind], list[str]] = {}


def _allowed_names(allowed: frozenset[DecisionKind]) -> list[str]:
    # A handful of distinct sets across any number of threads: sort each once (the encoder never changes a list).
    names = _ALLOWED_NAMES.get(allowed)
    if names is None:
        names = _ALLOWED_NAMES[allowed] = sorted(d.value for d in allowed)
    return names


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
                "allowed": _allowed_names(a.allowed),
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


def _state(states: States | None, thread: PendingThread, item: PendingInterrupt) -> DecisionState:
    found = states.get(item_key(thread.thread_id, thread.checkpoint_id, item.key)) if states else None
    return found or DecisionState()


def table_rows(thread: PendingThread, now: datetime, states: States | None = None) -> list[tuple[str, ...]]:
    """A thread's rows in the table: one per pending interrupt (one for a thread that waits on none)."""
    waited = age_text(thread.paused_at, now, one_unit=True)
    if not thread.interrupts:
        return [(thread.thread_id, thread.graph_id or "-", thread.status.value, waited,
                 ",".join(thread.next_nodes) or "-", thread.error or "-", "-", "-")]
    return [
        (thread.thread_id, thread.graph_id or "-", thread.status.value, waited, i.node,
         ", ".join(a.name for a in i.actions), (i.interrupt_id or "breakpoint")[:12], _state(states, thread, i).label)
        for i in thread.interrupts
    ]


TABLE_HEADER = ("THREAD", "GRAPH", "STATUS", "WAITING", "NODE", "ACTION", "INTERRUPT", "DECISION")


def selected(threads: Iterable[PendingThread], select: ListFilter | None = None, limit: int | None = None
             ) -> list[PendingThread]:
    """The threads `select` keeps (default: waiting or unreadable), at most `limit` of them, in the order given."""
    select = select or ListFilter()
    return [t for t in threads if select.matches(t)][:limit]


def print_listing(
    shown: Sequence[PendingThread],
    *,
    out: TextIO,
    as_json: bool = False,
    pretty: bool = False,
    now: datetime | None = None,
    states: States | None = None,
) -> None:
    """Print the threads (see `selected`): a table, or with `as_json` one JSON array (compact, or indented with
    `pretty`). `states`: each pending item's place in the ledger (see decisions.state), the DECISION column."""
    if as_json:
        if pretty:
            out.write(json_for_terminal(_PRETTY.encode([thread_json(t, states) for t in shown])) + "\n")
            return
        # The same compact array, written a thread at a time: 40k threads never sit in memory as one 70 MB string.
        out.write("[")
        for n, thread in enumerate(shown):
            out.write(("," if n else "") + json_for_terminal(_COMPACT.encode(thread_json(thread, states))))
        out.write("]\n")
        return
    if not shown:
        out.write("No threads are waiting for a human.\n")
        return
    now = now or datetime.now(UTC)
    rows = [TABLE_HEADER, *(row for t in shown for row in table_rows(t, now, states))]
    safe = [tuple(visible(str(c))[:60] for c in r) for r in rows]
    widths = [max(len(r[i]) for r in safe) for i in range(len(TABLE_HEADER))]
    for r in safe:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    paused = sum(1 for t in shown if t.status is ThreadStatus.PAUSED)
    out.write(f"\n{paused} thread(s) waiting, {sum(len(t.interrupts) for t in shown)} pending interrupt(s).\n")


class ListingFull(Exception):
    """Raised by `JsonLines.write` once `limit` threads are out: the caller stops reading the DB."""


class JsonLines:
    """`list --jsonl`: each batch of threads written and flushed as soon as the reader hands it over, one compact
    JSON object per line, so a script sees the first thread at once and nothing accumulates here."""

    def __init__(
        self, out: TextIO, select: ListFilter | None = None, limit: int | None = None,
        states_of: Callable[[Sequence[PendingThread]], States] | None = None,
    ) -> None:
        self._out, self._select, self._left = out, select or ListFilter(), limit
        self._states_of = states_of
        self.written = 0

    def write(self, batch: Iterable[PendingThread]) -> None:
        """Write the batch's threads that pass the filter; raises ListingFull when the limit is reached."""
        keep = [t for t in batch if self._select.matches(t)]
        if self._left is not None:
            keep = keep[: self._left]
            self._left -= len(keep)
        if keep:
            states = self._states_of(keep) if self._states_of else None
            text = "\n".join(_COMPACT.encode(thread_json(t, states)) for t in keep)
            self._out.write(json_for_terminal(text) + "\n")
            self._out.flush()
            self.written += len(keep)
        if self._left == 0:
            raise ListingFull
