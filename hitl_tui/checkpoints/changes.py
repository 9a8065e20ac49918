"""Which threads changed since the last read, at a cost proportional to the change.

- `PRAGMA data_version` moves only when another connection commits: an unchanged DB costs one pragma.
- New rows get rowids above the highest one we saw (SQLite hands out max(rowid)+1; `INSERT OR REPLACE`
  deletes and re-inserts, so it gets a new one too). Rows above the watermark name the threads to re-read.
- That rule breaks only when the newest rows are deleted, because their rowids are then handed out again:
  we remember the key of the row at each watermark, and when it is gone the caller reads everything again.
- Other deletes (`SqliteSaver.delete_thread` of an older thread) leave no new rowid: the latest checkpoints
  of the listed threads are checked for existence, all of them when a commit added no rows at all, else a
  rotating batch, so the check stays bounded while writers are busy.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

EXISTENCE_BATCH = 256

_KEYS = {
    "checkpoints": "thread_id, checkpoint_ns, checkpoint_id",
    "writes": "thread_id, checkpoint_ns, checkpoint_id, task_id, idx",
}
_GONE = (
    "SELECT json_extract(value, '$[0]') FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM checkpoints "
    "WHERE thread_id = json_extract(value, '$[0]') AND checkpoint_ns = '' "
    "AND checkpoint_id = json_extract(value, '$[1]'))"
)


class Listed(Protocol):
    @property
    def checkpoint_id(self) -> str: ...


class ChangeTracker:
    """Watermarks over `checkpoints` and `writes`; every method but `moved` runs inside the caller's read snapshot."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._version: int | None = None
        self._marks: dict[str, int] = {}
        self._keys: dict[str, tuple[Any, ...] | None] = {}
        self._rotate = 0

    @property
    def started(self) -> bool:
        """False until the first `reset`."""
        return self._version is not None

    def moved(self) -> bool:
        """True when another connection committed since the last reset/changed_threads (outside a snapshot)."""
        return self._version is None or self._data_version() != self._version

    def reset(self) -> None:
        """Remember where the tables end now (call inside the snapshot a full read uses)."""
        for table in _KEYS:
            self._marks[table] = self._max_rowid(table)
            self._keys[table] = self._key_at(table, self._marks[table])
        # Read after the first statement: inside a transaction it is frozen at this snapshot.
        self._version = self._data_version()

    def changed_threads(self, listed: Mapping[str, Listed]) -> set[str] | None:
        """Threads to re-read since the last call, or None when everything must be read again."""
        marks = {table: self._max_rowid(table) for table in _KEYS}
        for table, old in self._marks.items():
            if marks[table] < old or self._key_at(table, old) != self._keys[table]:
                return None  # the newest rows were deleted: their rowids may have been reused
        changed: set[str] = set()
        for table, old in self._marks.items():
            if marks[table] > old:
                # No DISTINCT: with it the planner scans an index instead of seeking by rowid.
                rows = self._conn.execute(f"SELECT thread_id FROM {table} WHERE rowid > ?", (old,))
                changed.update(r[0] for r in rows)
        added_rows = marks != self._marks
        for table in _KEYS:
            self._marks[table] = marks[table]
            self._keys[table] = self._key_at(table, marks[table])
        self._version = self._data_version()
        changed.update(self._vanished(listed, everything=not added_rows))
        return changed

    def _vanished(self, listed: Mapping[str, Listed], *, everything: bool) -> list[str]:
        """Listed threads whose latest checkpoint is gone (deleted)."""
        if not listed:
            return []
        if everything or len(listed) <= EXISTENCE_BATCH:
            ids: Iterable[str] = listed
        else:
            # The next slice of the listing, wrapping around: every listed thread is checked within a few polls.
            start = self._rotate % len(listed)
            self._rotate = start + EXISTENCE_BATCH
            ring = itertools.chain(itertools.islice(listed, start, None), listed)
            ids = itertools.islice(ring, EXISTENCE_BATCH)
        pairs = json.dumps([[tid, listed[tid].checkpoint_id] for tid in ids])
        return [r[0] for r in self._conn.execute(_GONE, (pairs,))]

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _max_rowid(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT MAX(rowid) FROM {table}").fetchone()[0] or 0)

    def _key_at(self, table: str, rowid: int) -> tuple[Any, ...] | None:
        if rowid == 0:
            return None
        found = self._conn.execute(f"SELECT {_KEYS[table]} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
        return tuple(found) if found else None
