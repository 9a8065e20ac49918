"""From one thread's latest root checkpoint and its writes to a `PendingThread`: what runs next and who waits.

Pure functions over decoded rows, so the rules in LANGGRAPH_STORAGE.md are tested without a DB. They follow
LangGraph's own `prepare_next_tasks` / `read_task_statuses` / `should_interrupt` (langgraph 1.2), minus the graph:
- tasks: one PUSH task per `Send` in `__pregel_tasks`, then one PULL task per node whose trigger channel
  (`branch:to:N`, a complete `join:A+B:N`, `__start__`) is available and newer than what the node has seen;
- a task has finished when it wrote any output (anything but the control channels below); `next` is every
  task that has not, so several `Send`s to one node appear several times, as in `get_state().next`;
- its pending interrupts are the `__interrupt__` writes of unfinished tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from sys import intern
from typing import Any, NamedTuple

import xxhash

from hitl_tui.checkpoints.decode import TYPE_KEY, DecodeError, decode_metadata, decode_typed
from hitl_tui.checkpoints.payloads import normalise_breakpoint, normalise_interrupt
from hitl_tui.config import GraphConfig
from hitl_tui.model import PendingInterrupt, PendingThread, ThreadStatus

INTERRUPT = "__interrupt__"
ERROR = "__error__"
TASKS = "__pregel_tasks"
START = "__start__"
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"  # writes of the run's input/Command, not of a task
# Writes that say what happened to a task rather than what it produced (langgraph.pregel._task_status).
CONTROL_CHANNELS = frozenset({ERROR, "__error_source_node__", INTERRUPT, "__resume__"})
PULL_PREFIX = "~__pregel_pull, "
PUSH_PREFIX = "~__pregel_push, "
ANY_NODE = "*"
_TRIGGER_PREFIXES = ("branch:to:", "join:", START)  # interrupt_before/after = "*": every node, as LangGraph allows


@dataclass(frozen=True)
class Breakpoints:
    """A graph's static breakpoint nodes (`"*"` means every node)."""

    before: frozenset[str] = frozenset()
    after: frozenset[str] = frozenset()


@dataclass(slots=True)
class WriteRow:
    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str | None
    value: bytes | None  # only fetched for __interrupt__ and __error__ rows


@dataclass(slots=True)
class CheckpointRow:
    thread_id: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    type: str | None
    checkpoint: bytes | None
    metadata: bytes | str | None
    writes: list[WriteRow] = field(default_factory=list)
    # How to decode the checkpoint, for a store that does not keep it as one (type, blob) pair: Postgres keeps it
    # as JSONB with some channel values in blobs of their own. Called inside `build_thread`, so a value that does
    # not decode marks the thread unreadable like a bad blob would. When set, `type`/`checkpoint` are not read.
    decode: Callable[[], Any] | None = None


class Task(NamedTuple):
    """A task LangGraph would run from a checkpoint: `key` matches the `task_path` of its writes."""

    key: str  # "pull:NODE" or "push:INDEX"
    node: str


@dataclass(slots=True)
class TaskWrites:
    """What one task wrote at a checkpoint."""

    task_id: str
    key: str | None
    node: str | None
    finished: bool = False
    interrupt: WriteRow | None = None
    error: WriteRow | None = None


# -- tasks ---------------------------------------------------------------------------------------------------


def task_key(task_path: str) -> str | None:
    """`~__pregel_pull, NODE` -> `pull:NODE`; `~__pregel_push, 0000000002, ...` -> `push:2`; else None."""
    if task_path.startswith(PULL_PREFIX):
        return "pull:" + task_path[len(PULL_PREFIX) :]
    if task_path.startswith(PUSH_PREFIX):
        index = task_path[len(PUSH_PREFIX) :].split(",", 1)[0].strip()
        if index.isdigit():
            return f"push:{int(index)}"
    return None


def task_node(task_path: str) -> str:
    """The node of a PULL task path (push paths don't name their node: see `send_node`)."""
    if task_path.startswith(PULL_PREFIX):
        return intern(task_path[len(PULL_PREFIX) :])
    return task_path


def send_node(send: Any) -> str | None:
    """The target node of a decoded `Send` (stored as `Send(node, arg)` constructor arguments)."""
    if not isinstance(send, Mapping):
        return None
    node = send.get("node")
    if node is None and isinstance(send.get("args"), list) and send["args"]:
        node = send["args"][0]
    return node if isinstance(node, str) else None


def _null_version(versions: Mapping[str, Any]) -> Any:
    for version in versions.values():
        return type(version)()
    return None


def _newer(version: Any, seen: Any) -> bool:
    try:
        return bool(version > seen)
    except TypeError:  # mixed version types from a hand-edited or foreign DB: compare as text
        return str(version) > str(seen)


def _available_trigger(channel: str, values: Mapping[str, Any]) -> str | None:
    """The node `channel` triggers, if it is a trigger channel holding a value (LangGraph's `is_available`)."""
    if channel not in values:
        return None  # never written, or consumed by the node it triggered
    value = values[channel]
    if channel.startswith("branch:to:"):
        # A deferred node's trigger is stored as (value, finished): it counts only once finished.
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], bool):
            return intern(channel[len("branch:to:") :]) if value[1] else None
        return intern(channel[len("branch:to:") :])  # one string per node name, not one per listed thread
    if channel.startswith("join:"):
        sources, _, node = channel[len("join:") :].rpartition(":")
        finished = True
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], bool):
            value, finished = value  # a deferred join: (seen, finished)
        if not finished or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        return intern(node) if set(value) == set(sources.split("+")) else None
    if channel == START:
        return START
    return None


def pending_tasks(checkpoint: Mapping[str, Any]) -> list[Task]:
    """Every task LangGraph would prepare from this checkpoint, finished or not: Sends first, then nodes."""
    versions: Mapping[str, Any] = checkpoint.get("channel_versions") or {}
    if not versions:
        return []
    all_seen: Mapping[str, Any] = checkpoint.get("versions_seen") or {}
    values: Mapping[str, Any] = checkpoint.get("channel_values") or {}
    null = _null_version(versions)
    tasks: list[Task] = []
    sends = values.get(TASKS)
    if isinstance(sends, list):
        tasks.extend(Task(f"push:{i}", send_node(s) or "?") for i, s in enumerate(sends))
    pulled: list[str] = []
    # Only channels holding a value can trigger (LangGraph's `is_available`), so walk those, not every version.
    for channel in values:
        if not channel.startswith(_TRIGGER_PREFIXES):
            continue
        node = _available_trigger(channel, values)
        if node is None or node in pulled:
            continue
        seen = all_seen.get(node)
        # A node that never ran is triggered by any available trigger; otherwise only by a newer one.
        if not isinstance(seen, Mapping) or _newer(versions.get(channel, null), seen.get(channel, null)):
            pulled.append(node)
    tasks.extend(Task(f"pull:{n}", n) for n in pulled)
    return tasks


def runnable_nodes(checkpoint: Mapping[str, Any]) -> list[str]:
    """Node names of `pending_tasks` (with repeats for several Sends to one node)."""
    return [t.node for t in pending_tasks(checkpoint)]


def task_writes(writes: Iterable[WriteRow], tasks: Iterable[Task]) -> dict[str, TaskWrites]:
    """Per task id, what it wrote at this checkpoint (writes of the run's own input are left out)."""
    node_of = {t.key: t.node for t in tasks}
    out: dict[str, TaskWrites] = {}
    for w in writes:
        if w.task_id == NULL_TASK_ID:
            continue
        tw = out.get(w.task_id)
        if tw is None:
            key = task_key(w.task_path)
            node = node_of.get(key) if key else None
            if node is None and key and key.startswith("pull:"):
                node = intern(key[len("pull:") :])
            tw = out[w.task_id] = TaskWrites(w.task_id, key, node)
        if w.channel == INTERRUPT:
            tw.interrupt = w
        elif w.channel == ERROR:
            tw.error = w
        elif w.channel not in CONTROL_CHANNELS:
            tw.finished = True
    return out


def updates_since_interrupt(checkpoint: Mapping[str, Any]) -> bool:
    """LangGraph's guard for static breakpoints: a channel changed since the last resume from one."""
    versions: Mapping[str, Any] = checkpoint.get("channel_versions") or {}
    seen = (checkpoint.get("versions_seen") or {}).get(INTERRUPT) or {}
    null = _null_version(versions)
    return any(_newer(v, seen.get(ch, null)) for ch, v in versions.items())


# -- thread ----------------------------------------------------------------------------------------------------


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


SubgraphLocator = Callable[[str, str], "tuple[str, str] | None"]
"""(parent task namespace `node:task_id`, interrupt id) -> (namespace, node) where a subgraph raised it."""

RanLastStep = Callable[[CheckpointRow], list[str]]
"""Nodes whose tasks ran in the step that produced a checkpoint (for `interrupt_after`)."""


def _interrupts(tw: TaskWrites, node: str, locate: SubgraphLocator | None) -> list[PendingInterrupt]:
    assert tw.interrupt is not None
    items = decode_typed(tw.interrupt.type, tw.interrupt.value)
    if not isinstance(items, list):
        items = [items]
    task_ns = f"{node}:{tw.task_id}"
    root_id = xxhash.xxh3_128_hexdigest(task_ns.encode())
    found = []
    for item in items:
        fields = item if isinstance(item, Mapping) and TYPE_KEY in item else {"value": item, "id": None}
        iid = fields.get("id")
        iid = iid if isinstance(iid, str) and iid else root_id
        namespace, inner_node = "", node
        if iid != root_id and locate is not None:
            # Raised inside a subgraph: LangGraph copies it to the root under the parent task with the same id.
            namespace, inner_node = locate(task_ns, iid) or ("", node)
        found.append(
            normalise_interrupt(
                fields.get("value"),
                interrupt_id=iid,
                namespace=namespace,
                node=inner_node,
                response_schema=fields.get("response_schema"),
            )
        )
    return found


def _error_text(tw: TaskWrites) -> str:
    assert tw.error is not None
    try:
        err = decode_typed(tw.error.type, tw.error.value)
    except DecodeError:
        err = "an error that does not decode"
    if isinstance(err, Mapping) and TYPE_KEY in err:
        name = str(err[TYPE_KEY]).rsplit(".", 1)[-1]
        args = err.get("args")
        detail = args[0] if isinstance(args, list) and len(args) == 1 else args
        err = f"{name}: {detail}" if detail not in (None, [], "") else name
    return f"node {tw.node or '?'} failed: {err}"[:500]


def _breakpoint_hit(
    row: CheckpointRow,
    checkpoint: Mapping[str, Any],
    metadata: Mapping[str, Any],
    next_nodes: list[str],
    started: bool,
    bp: Breakpoints,
    ran_last_step: RanLastStep | None,
) -> tuple[str, str] | None:
    """(node, "before"|"after") when LangGraph stopped here at a configured static breakpoint."""
    # Once a task of this step wrote anything, the run went past any breakpoint (it is running, or died).
    if started or not (bp.before or bp.after) or not updates_since_interrupt(checkpoint):
        return None
    for node in next_nodes:
        if node in bp.before or ANY_NODE in bp.before:
            return node, "before"
    # interrupt_after stops right after a loop step; the nodes that ran wrote on the parent checkpoint.
    if bp.after and ran_last_step is not None and metadata.get("source") == "loop":
        for node in ran_last_step(row):
            if node in bp.after or ANY_NODE in bp.after:
                return node, "after"
    return None


def build_thread(
    row: CheckpointRow,
    graph_of: Mapping[str, GraphConfig],
    breakpoints: Mapping[str, Breakpoints],
    ran_last_step: RanLastStep | None = None,
    locate: SubgraphLocator | None = None,
    version: tuple[int, int, int] | None = None,
) -> PendingThread | None:
    """Classify one thread; None when it has finished (nothing left to run). `version`: the row marks of the
    snapshot `row` was read from (see reader.thread_version)."""
    base: dict[str, Any] = {
        "thread_id": row.thread_id, "graph_id": None, "checkpoint_id": row.checkpoint_id, "step": None,
        "paused_at": None, "version": version,
    }
    try:
        metadata = decode_metadata(row.metadata)
        graph_id = metadata.get("graph_id") or metadata.get("assistant_id")
        base["graph_id"] = graph_id if isinstance(graph_id, str) else None
        step = metadata.get("step")
        base["step"] = step if isinstance(step, int) and not isinstance(step, bool) else None
        checkpoint = row.decode() if row.decode is not None else decode_typed(row.type, row.checkpoint)
        if not isinstance(checkpoint, Mapping):
            raise DecodeError("checkpoint is not a map")
        return _classify(row, checkpoint, metadata, base, graph_of, breakpoints, ran_last_step, locate)
    except DecodeError as err:
        reason = str(err)
    except Exception as err:  # the data is foreign: one odd thread must not hide all the others
        reason = f"unexpected content ({type(err).__name__}: {err})"
    return PendingThread(
        next_nodes=(), status=ThreadStatus.UNREADABLE,
        error=f"this thread's latest checkpoint is unreadable: {reason}"[:500], **base,
    )


def _classify(
    row: CheckpointRow,
    checkpoint: Mapping[str, Any],
    metadata: dict[str, Any],
    base: dict[str, Any],
    graph_of: Mapping[str, GraphConfig],
    breakpoints: Mapping[str, Breakpoints],
    ran_last_step: RanLastStep | None,
    locate: SubgraphLocator | None,
) -> PendingThread | None:
    graph = graph_of.get(base["graph_id"]) if base["graph_id"] else None
    values = checkpoint.get("channel_values") or {}
    if not isinstance(values, Mapping):
        raise DecodeError("checkpoint channel_values is not a map")
    tasks = pending_tasks(checkpoint)
    written = task_writes(row.writes, tasks) if row.writes else {}
    by_key = {tw.key: tw for tw in written.values() if tw.key is not None}
    known = {t.key for t in tasks}
    start_key = "pull:" + START
    if start_key in known and start_key not in by_key and any(k.startswith("pull:") for k in by_key):
        # An entrypoint (functional API) is triggered by __start__ but is not named __start__: its writes name it.
        tasks = [t for t in tasks if t.key != start_key]
        tasks += [Task(k, k[len("pull:") :]) for k in sorted(by_key) if k.startswith("pull:") and k not in known]
        known = {t.key for t in tasks}
    next_nodes = [t.node for t in tasks if t.key not in by_key or not by_key[t.key].finished]
    interrupts: list[PendingInterrupt] = []
    errors: list[str] = []
    if written:
        ordered = [by_key[t.key] for t in tasks if t.key in by_key]
        # Tasks we did not predict still count when they wait on a human (never lose an interrupt).
        ordered += [tw for tw in written.values() if tw.key not in known and tw.interrupt is not None]
        seen_keys: set[str] = set()
        for tw in ordered:
            if tw.finished:
                continue
            node = tw.node or "?"
            # A functional-API @task's interrupt is also written for the entrypoint task: count it once.
            fresh = [i for i in _interrupts(tw, node, locate) if i.key not in seen_keys] if tw.interrupt else []
            if tw.key not in known:
                if not fresh:
                    continue
                next_nodes.append(node)
            seen_keys.update(i.key for i in fresh)
            interrupts.extend(fresh)
            if tw.error is not None:
                errors.append(_error_text(tw))
    base.update(
        paused_at=_parse_ts(checkpoint.get("ts")),
        metadata=metadata,
        error="; ".join(errors)[:500] or None,
    )
    if interrupts:
        return PendingThread(
            next_nodes=tuple(next_nodes), status=ThreadStatus.PAUSED, interrupts=tuple(interrupts), **base
        )
    if not next_nodes:
        return None
    bp = breakpoints.get(base["graph_id"] or "", Breakpoints())
    hit = _breakpoint_hit(row, checkpoint, metadata, next_nodes, bool(written), bp, ran_last_step)
    if hit is not None:
        pending = normalise_breakpoint(hit[0], hit[1], values, graph)
        return PendingThread(next_nodes=tuple(next_nodes), status=ThreadStatus.PAUSED, interrupts=(pending,), **base)
    return PendingThread(next_nodes=tuple(next_nodes), status=ThreadStatus.RUNNING_OR_STALLED, **base)
