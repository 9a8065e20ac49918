"""The reader's current list of threads, kept in display order (oldest checkpoint first) as it changes.

A poll changes a few threads out of thousands: each change is a bisect and a list insert or delete, and the
tuple handed out is rebuilt only when something changed, so a poll costs what changed, not a sort of everything.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping

from hitl_tui.model import PendingThread


def _order(thread: PendingThread) -> tuple[str, str]:
    return (thread.checkpoint_id, thread.thread_id)


class OrderedThreads(Mapping[str, PendingThread]):
    """thread id -> PendingThread, iterable in display order via `as_tuple()`."""

    def __init__(self, threads: Iterable[PendingThread] = ()) -> None:
        self._by_id = {t.thread_id: t for t in threads}
        ordered = sorted(self._by_id.values(), key=_order)
        self._keys = [_order(t) for t in ordered]
        self._ordered = ordered
        self._tuple: tuple[PendingThread, ...] | None = None

    def __getitem__(self, thread_id: str) -> PendingThread:
        return self._by_id[thread_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def put(self, thread: PendingThread) -> None:
        """Add or replace a thread."""
        self.drop(thread.thread_id)
        key = _order(thread)
        at = bisect.bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self._ordered.insert(at, thread)
        self._by_id[thread.thread_id] = thread
        self._tuple = None

    def update(self, changed: Iterable[str], fresh: Mapping[str, PendingThread]) -> set[str]:
        """Take a re-read of the `changed` threads (`fresh`: those still unfinished); returns the ids whose entry
        really changed (a thread re-read as it was is not news)."""
        really_changed = set()
        for tid in changed:
            new = fresh.get(tid)
            if new is None:
                if self.drop(tid) is not None:
                    really_changed.add(tid)
            elif self.get(tid) != new:
                self.put(new)
                really_changed.add(tid)
        return really_changed

    def drop(self, thread_id: str) -> PendingThread | None:
        """Remove a thread; returns it, or None when it was not listed."""
        old = self._by_id.pop(thread_id, None)
        if old is not None:
            at = bisect.bisect_left(self._keys, _order(old))
            del self._keys[at]
            del self._ordered[at]
            self._tuple = None
        return old

    def as_tuple(self) -> tuple[PendingThread, ...]:
        """Every thread, oldest checkpoint first (cached until the next change)."""
        if self._tuple is None:
            self._tuple = tuple(self._ordered)
        return self._tuple
