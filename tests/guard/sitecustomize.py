"""A guard for the whole test run, subprocesses included: no Python-level open of a SQLite file (or its -wal,
-shm, -journal) that this process holds a live sqlite3 connection to.

Why: closing any file descriptor of a file drops every POSIX lock the process holds on it (SQLite's "How To Corrupt
Your Database Files", 2.2). Another process then believes it is the last connection, checkpoints and deletes the
WAL under our feet. Only SQLite may open those files while we are connected.

conftest.py puts this folder on PYTHONPATH, so every Python the tests start (CLI runs, agents, racers) imports it
at start-up as `sitecustomize`, and the test process imports it from conftest. The audit hook raises, so the
forbidden open never happens and the offending code fails loudly where it stands.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import sys
import threading
import urllib.parse
import weakref
from typing import Any

_SUFFIXES = ("-wal", "-shm", "-journal")
_live: dict[str, weakref.WeakSet[Any]] = {}  # real path of a DB -> connections to it made in this process
_pending = threading.local()  # the path named by the last "sqlite3.connect" event in this thread
_lock = threading.Lock()


class HeldDatabaseOpened(RuntimeError):
    """Raised (inside the open call) when Python code opens a DB file this process is connected to."""


class _TrackedConnection(sqlite3.Connection):
    """sqlite3.Connection itself can't be weakly referenced; a Python subclass can, and behaves the same."""


def _connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    if len(args) <= 5 and "factory" not in kwargs:  # factory is connect's sixth parameter
        kwargs["factory"] = _TrackedConnection
    return _original_connect(*args, **kwargs)


def _db_path(database: object) -> str | None:
    """The real path a sqlite3.connect() argument names, or None for memory DBs."""
    if isinstance(database, bytes):
        database = os.fsdecode(database)
    if not isinstance(database, (str, os.PathLike)):
        return None
    text = os.fspath(database)
    if text.startswith("file:"):
        parsed = urllib.parse.urlsplit(text)
        if "mode=memory" in parsed.query:
            return None
        text = urllib.parse.unquote(parsed.path)
    if not text or text == ":memory:":
        return None
    return os.path.realpath(text)


def _is_open(conn: Any) -> bool:
    try:
        conn.total_changes  # noqa: B018 - raises ProgrammingError once the connection is closed
    except Exception:
        return False
    return True


def _held(path: str) -> bool:
    for suffix in _SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    with _lock:
        conns = list(_live.get(path, ()))
    return any(_is_open(c) for c in conns)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "sqlite3.connect":
        _pending.path = _db_path(args[0])
    elif event == "sqlite3.connect/handle":
        path, _pending.path = getattr(_pending, "path", None), None
        if path is not None and isinstance(args[0], _TrackedConnection):
            with _lock:
                _live.setdefault(path, weakref.WeakSet()).add(args[0])
    elif event == "open" and _live:
        target = args[0]
        if target is None or isinstance(target, int):
            return  # fdopen of a descriptor we already have: no new open
        try:
            path = os.path.realpath(os.fsdecode(target))
        except (TypeError, ValueError):
            return
        if _held(path) and (gc.collect() is None or _held(path)):  # an unreferenced connection doesn't count
            raise HeldDatabaseOpened(
                f"opened {path} outside SQLite while this process holds a connection to it: closing that file "
                "would drop the process's POSIX locks and let another process delete the WAL"
            )


if not getattr(sys, "_hitl_db_open_guard", False):
    sys._hitl_db_open_guard = True  # type: ignore[attr-defined]
    _original_connect = sqlite3.connect
    sqlite3.connect = _connect  # type: ignore[assignment]
    sys.addaudithook(_hook)
