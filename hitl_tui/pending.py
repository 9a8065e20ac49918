"""From one thread's latest root checkpoint and its writes to a `PendingThread`: what runs next and who waits.

Pure functions over decoded rows, so the rules in LANGGRAPH_STORAGE.md are tested without a DB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import xxhash

from hitl_tui.config import GraphConfig
from hitl_tui.decode import TYPE_KEY, DecodeError, decode_metadata, decode_typed
from hitl_tui.model import PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.payloads import normalise_breakpoint, normalise_interrupt

INTERRUPT = "__interrupt__"
ERROR = "__error__"
MESSAGES_SHOWN = 8


@dataclass(frozen=True)
class Breakpoints:
    """A graph's static breakpoint nodes."""

    before: frozenset[str] = frozenset()
    after: frozenset[str] = frozenset()


@dataclass
class WriteRow:
    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str | None
    value: bytes | None  # only fetched for __interrupt__ and __error__ rows


@dataclass
class CheckpointRow:
    thread_id: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    type: str | None
    checkpoint: bytes | None
    metadata: bytes | None
    writes: list[WriteRow] = field(default_factory=list)


def task_node(task_path: str) -> str:
    """The node a task runs: `~__pregel_pull, NODE` -> NODE; push tasks name their node last."""
    parts = [p.strip() for p in task_path.split(",")]
    if parts and parts[0] == "~__pregel_pull" and len(parts) > 1:
        return parts[1]
    return parts[-1] if parts else task_path


def runnable_nodes(checkpoint: Mapping[str, Any]) -> list[str]:
    """Nodes LangGraph would run next from this checkpoint, without the graph (see LANGGRAPH_STORAGE.md)."""
    versions: Mapping[str, str] = checkpoint.get("channel_versions") or {}
    seen: Mapping[str, Mapping[str, str]] = checkpoint.get("versions_seen") or {}
    values: Mapping[str, Any] = checkpoint.get("channel_values") or {}
    out: list[str] = []
    for channel, version in versions.items():
        if channel not in values:
            continue  # a trigger that was consumed: its version moved on but it holds no value any more
        if channel.startswith("branch:to:"):
            node = channel[len("branch:to:") :]
        elif channel.startswith("join:"):
            sources, _, node = channel[len("join:") :].rpartition(":")
            have = values.get(channel)
            if not isinstance(have, list) or not set(sources.split("+")) <= set(have):
                continue
        else:
            continue
        if str(version) > str((seen.get(node) or {}).get(channel, "")) and node not in out:
            out.append(node)
    for send in values.get("__pregel_tasks") or []:
        node = send.get("node") if isinstance(send, Mapping) else None
        if isinstance(node, str) and node not in out:
            out.append(node)
    return out


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _messages(values: Mapping[str, Any], graph: GraphConfig | None) -> tuple[Any, ...]:
    msgs = values.get(graph.messages_field if graph else "messages")
    return tuple(msgs[-MESSAGES_SHOWN:]) if isinstance(msgs, list) else ()


def _interrupts_from_writes(
    writes: Iterable[WriteRow], finished_tasks: set[str], locate: SubgraphLocator | None
) -> tuple[list[PendingInterrupt], list[str]]:
    found: list[PendingInterrupt] = []
    nodes: list[str] = []
    for w in writes:
        if w.channel != INTERRUPT or w.task_id in finished_tasks:
            continue
        node = task_node(w.task_path)
        items = decode_typed(w.type, w.value)
        if not isinstance(items, list):
            items = [items]
        for item in items:
            fields = item if isinstance(item, Mapping) and TYPE_KEY in item else {"value": item, "id": None}
            iid = fields.get("id") or xxhash.xxh3_128_hexdigest(f"{node}:{w.task_id}".encode())
            namespace, inner_node = "", node
            if iid != xxhash.xxh3_128_hexdigest(f"{node}:{w.task_id}".encode()) and locate is not None:
                # Raised inside a subgraph: LangGraph copies it to the root under the parent task with the same id.
                namespace, inner_node = locate(f"{node}:{w.task_id}", iid) or ("", node)
            found.append(
                normalise_interrupt(
                    fields.get("value"),
                    interrupt_id=iid,
                    namespace=namespace,
                    node=inner_node,
                    response_schema=fields.get("response_schema"),
                )
            )
            if node not in nodes:
                nodes.append(node)
    return found, nodes


class SubgraphLocator:
    """Finds the namespace and node of an interrupt raised in a subgraph; supplied by the reader (needs the DB)."""

    def __call__(self, parent_ns: str, interrupt_id: str) -> tuple[str, str] | None:  # pragma: no cover - protocol
        raise NotImplementedError


def build_thread(
    row: CheckpointRow,
    graph_of: Mapping[str, GraphConfig],
    breakpoints: Mapping[str, Breakpoints],
    ran_last_step: Any = None,
    locate: SubgraphLocator | None = None,
) -> PendingThread | None:
    """Classify one thread; None when it has finished (nothing left to run)."""
    try:
        metadata = decode_metadata(row.metadata)
        checkpoint = decode_typed(row.type, row.checkpoint)
        if not isinstance(checkpoint, Mapping):
            raise DecodeError("checkpoint is not a map")
        graph_id = metadata.get("graph_id") or metadata.get("assistant_id")
        graph_id = graph_id if isinstance(graph_id, str) else None
        graph = graph_of.get(graph_id) if graph_id else None
        step = metadata.get("step") if isinstance(metadata.get("step"), int) else None
        values = checkpoint.get("channel_values") or {}
        base = {
            "thread_id": row.thread_id,
            "graph_id": graph_id,
            "checkpoint_id": row.checkpoint_id,
            "step": step,
            "paused_at": _parse_ts(checkpoint.get("ts")),
            "messages": _messages(values, graph),
            "metadata": metadata,
        }
        # A task that wrote output (or an error) at this checkpoint is no longer pending.
        done = {w.task_id for w in row.writes if w.idx >= 0 or w.channel == "__no_writes__"}
        errored = [w for w in row.writes if w.channel == ERROR]
        interrupts, interrupt_nodes = _interrupts_from_writes(row.writes, done, locate)
        started = {task_node(w.task_path) for w in row.writes}
        waiting = {task_node(w.task_path) for w in row.writes if w.task_id not in done}
        finished = {task_node(w.task_path) for w in row.writes if w.task_id in done} - waiting
        next_nodes = [n for n in runnable_nodes(checkpoint) if n not in finished]
        if interrupts:
            return PendingThread(
                next_nodes=tuple(next_nodes or interrupt_nodes),
                status=ThreadStatus.PAUSED,
                interrupts=tuple(interrupts),
                **base,
            )
        if not next_nodes:
            return None
        bp = breakpoints.get(graph_id or "", Breakpoints())
        before = [n for n in next_nodes if n in bp.before and n not in started]
        after: list[str] = []
        if not before and bp.after and not row.writes and ran_last_step is not None:
            after = [n for n in ran_last_step(row) if n in bp.after]
        if before or after:
            node, when = (before[0], "before") if before else (after[0], "after")
            pending = normalise_breakpoint(node, when, values, graph)
            return PendingThread(
                next_nodes=tuple(next_nodes), status=ThreadStatus.PAUSED, interrupts=(pending,), **base
            )
        error = None
        if errored:
            try:
                err = decode_typed(errored[0].type, errored[0].value)
            except DecodeError:
                err = "an error that does not decode"
            error = f"a task failed: {err}"[:500]
        return PendingThread(
            next_nodes=tuple(next_nodes), status=ThreadStatus.RUNNING_OR_STALLED, error=error, **base
        )
    except DecodeError as err:
        return PendingThread(
            thread_id=row.thread_id, graph_id=None, checkpoint_id=row.checkpoint_id, step=None, paused_at=None,
            next_nodes=(), status=ThreadStatus.UNREADABLE, error=f"this thread's latest checkpoint is unreadable: {err}",
        )
