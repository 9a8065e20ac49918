"""The demo agents' one real side effect: a JSON line appended to an outbox file per execution.

"Sending" an email, "transferring" money or "deleting" a file appends
`{"ts", "effect", "thread_id", "decision_id", "args", "call_id", "pid"}` to the outbox, so tests and
people can count exactly what ran and how often. Lines are NOT deduplicated on purpose: a double execution
must show up as two lines. Writers take an exclusive `flock` and `fsync` before releasing it, so racing
processes never interleave or lose a line.

Where the outbox is, first match wins:
1. `config["configurable"]["hitl_outbox"]` of the run,
2. the `HITL_DEMO_OUTBOX` environment variable,
3. `outbox.jsonl` next to the checkpoint DB the graph was built with (see `outbox_next_to`),
4. `outbox.jsonl` in the current directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

OUTBOX_ENV = "HITL_DEMO_OUTBOX"
OUTBOX_FILENAME = "outbox.jsonl"


def outbox_next_to(checkpointer: Any) -> Path | None:
    """`outbox.jsonl` beside the SQLite file a checkpointer writes to, or None for non-file savers."""
    conn = getattr(checkpointer, "conn", None)
    if conn is None or not hasattr(conn, "execute"):
        return None
    lock = getattr(checkpointer, "lock", None)
    try:
        if lock is not None:
            with lock:
                rows = conn.execute("PRAGMA database_list").fetchall()
        else:
            rows = conn.execute("PRAGMA database_list").fetchall()
    except Exception:  # an async or exotic connection: no default, fall through to the env/cwd rules
        return None
    for _seq, name, file in rows:
        if name == "main" and file:
            return Path(file).parent / OUTBOX_FILENAME
    return None


def resolve_outbox(config: Mapping[str, Any] | None, default: Path | None = None) -> Path:
    """The outbox path for one run, following the precedence in the module docstring."""
    configurable = (config or {}).get("configurable") or {}
    explicit = configurable.get("hitl_outbox")
    if explicit:
        return Path(explicit)
    env = os.environ.get(OUTBOX_ENV)
    if env:
        return Path(env)
    return default if default is not None else Path.cwd() / OUTBOX_FILENAME


def append_line(path: Path, entry: Mapping[str, Any]) -> None:
    """Append one JSON line atomically with respect to other writers (flock + one write + fsync)."""
    data = (json.dumps(entry, sort_keys=True, default=str) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0o666 and let the umask decide, like the audit log: under a team's umask 002 every operator can append.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(data)
            while view:  # a short write is possible in theory; finish it while holding the lock
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def record_effect(
    effect: str,
    args: Mapping[str, Any],
    config: Mapping[str, Any] | None,
    *,
    default_outbox: Path | None = None,
    decision_id: str | None = None,
    call_id: str | None = None,
) -> dict[str, Any]:
    """Perform a demo side effect: append it to the outbox and return the line written.

    The decision id comes from `config["configurable"]["hitl_decision_id"]` (set by the resumer) and
    falls back to `decision_id` (e.g. the one carried in the resume value). `call_id` names the tool call
    when one decision covers several effects, so "each exactly once" can be checked per call.
    """
    configurable = (config or {}).get("configurable") or {}
    entry = {
        "ts": time.time(),
        "effect": effect,
        "thread_id": configurable.get("thread_id"),
        "decision_id": configurable.get("hitl_decision_id") or decision_id,
        "args": dict(args),
        "call_id": call_id,
        "pid": os.getpid(),
    }
    append_line(resolve_outbox(config, default_outbox), entry)
    return entry


def read_outbox(path: Path) -> list[dict[str, Any]]:
    """Every complete line of an outbox, in order; a missing file is an empty outbox.

    A last line without its newline (a writer killed mid-write) is left out; a complete line that is
    not JSON raises ValueError naming the line, since that means the file was damaged.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")
    complete = lines[:-1]  # the piece after the final newline is empty or an unfinished line
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise ValueError(f"Outbox {path} line {number} is not valid JSON.") from None
        if not isinstance(entry, dict):
            raise ValueError(f"Outbox {path} line {number} is not a JSON object.")
        entries.append(entry)
    return entries
