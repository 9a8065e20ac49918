"""Where a thread's tasks ran, for the classifier: the nodes of the step that produced a checkpoint (for
`interrupt_after`), and where inside a subgraph an interrupt copied to the root was really raised.

The rules live here once; each checkpoint store (SQLite, Postgres) only supplies the rows, through the three
small callables below, so both backends give the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hitl_tui.checkpoints.classify import NULL_TASK_ID, CheckpointRow, pending_tasks, task_key
from hitl_tui.checkpoints.decode import DecodeError, decode_typed

WritesAt = Callable[[str, str], Iterable[tuple[str, str]]]
"""(namespace, checkpoint id) -> (task_id, task_path) of every write keyed to that checkpoint."""

CheckpointAt = Callable[[str, str], "Mapping[str, Any] | None"]
"""(namespace, checkpoint id) -> the decoded checkpoint (None when it is gone or does not decode)."""

InterruptRows = Callable[[str], Iterable[tuple[str, str, str, "str | None", "bytes | None"]]]
"""parent namespace -> (namespace, checkpoint id, task_path, type, value) of the `__interrupt__` writes in it and
below, deepest namespace first, newest checkpoint first within one."""


def nodes_ran_last_step(row: CheckpointRow, writes_at: WritesAt, checkpoint_at: CheckpointAt) -> list[str]:
    """Nodes whose tasks ran in the step that produced this checkpoint (their writes sit on its parent)."""
    if not row.parent_checkpoint_id:
        return []
    keys = {task_key(path) for task_id, path in writes_at("", row.parent_checkpoint_id) if task_id != NULL_TASK_ID}
    nodes = [k[len("pull:") :] for k in keys if k and k.startswith("pull:")]
    if any(k and k.startswith("push:") for k in keys):
        # A Send task's path holds only its index into the parent checkpoint's list of Sends.
        parent = checkpoint_at("", row.parent_checkpoint_id)
        for task in pending_tasks(parent or {}):
            if task.key in keys and task.key.startswith("push:"):
                nodes.append(task.node)
    return nodes


class SubgraphSearch:
    """Finds where inside a subgraph an interrupt copied to the root was really raised (a pending.SubgraphLocator)."""

    def __init__(self, interrupt_rows: InterruptRows, checkpoint_at: CheckpointAt) -> None:
        self._rows, self._checkpoint_at = interrupt_rows, checkpoint_at

    def __call__(self, parent_ns: str, interrupt_id: str) -> tuple[str, str] | None:
        # Deepest namespace first: every enclosing graph holds a copy of the interrupt under its own task.
        wanted = interrupt_id.encode()
        for ns, cid, path, typ, value in self._rows(parent_ns):
            if value is None or wanted not in value:
                continue  # the id is stored as plain text: no need to decode rows that can't hold it
            try:
                items = decode_typed(typ, value)
            except DecodeError:
                continue
            for item in items if isinstance(items, list) else [items]:
                if isinstance(item, dict) and item.get("id") == interrupt_id:
                    return ns, self._node(ns, cid, path)
        return None

    def _node(self, ns: str, checkpoint_id: str, path: str) -> str:
        key = task_key(path) or ""
        if key.startswith("pull:"):
            return key[len("pull:") :]
        if key.startswith("push:"):
            for task in pending_tasks(self._checkpoint_at(ns, checkpoint_id) or {}):
                if task.key == key:
                    return task.node
        return path
