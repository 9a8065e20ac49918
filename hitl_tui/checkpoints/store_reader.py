"""The list of threads waiting for a human, from any `CheckpointStore`: the same answers and result objects as
the SQLite `CheckpointReader`, with the store doing only the fetching.

Poll: the store's change token says cheaply whether anyone committed; when someone did, the latest root
checkpoint ids are diffed against the last read and the listed threads' row marks compared, and only threads that
differ are read again. (A new run, resume or subgraph step of an unlisted thread always adds a root checkpoint,
and a listed thread's new writes move its marks.)
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import Any

from hitl_tui.checkpoints.classify import Breakpoints, CheckpointRow, build_thread
from hitl_tui.checkpoints.context_messages import thread_context
from hitl_tui.checkpoints.ordered_threads import OrderedThreads
from hitl_tui.checkpoints.reader import ReadResult, breakpoints_from_config
from hitl_tui.checkpoints.store import CheckpointStore
from hitl_tui.checkpoints.task_sites import SubgraphSearch, nodes_ran_last_step
from hitl_tui.config import Config
from hitl_tui.model import PendingThread


def classify_rows(
    store: CheckpointStore,
    rows: list[CheckpointRow],
    config: Config,
    breakpoints: Mapping[str, Breakpoints],
) -> list[PendingThread]:
    """The unfinished threads among these rows, with their marks (call inside the snapshot the rows came from)."""
    marks = store.marks([r.thread_id for r in rows])
    out = []
    for row in rows:
        tid = row.thread_id
        thread = build_thread(
            row, config.graphs, breakpoints,
            ran_last_step=lambda r: nodes_ran_last_step(
                r, functools.partial(store.writes_at, r.thread_id), functools.partial(store.checkpoint_at, r.thread_id)
            ),
            locate=SubgraphSearch(
                functools.partial(store.interrupt_rows, tid), functools.partial(store.checkpoint_at, tid)
            ),
            version=marks.get(tid),
        )
        if thread is not None:
            out.append(thread)
    return out


class StoreReader:
    """Reads paused threads through a store; use from one thread at a time (the console's worker)."""

    def __init__(
        self, store: CheckpointStore, config: Config | None = None, *,
        breakpoints: Mapping[str, Breakpoints] | None = None,
    ) -> None:
        self.store = store
        self.config = config or Config()
        self.breakpoints = dict(breakpoints) if breakpoints is not None else breakpoints_from_config(self.config)
        self._threads = OrderedThreads()
        self._latest: dict[str, str] = {}
        self._token: Any = None
        self._started = False

    def close(self) -> None:
        self.store.close()

    @property
    def threads(self) -> tuple[PendingThread, ...]:
        return self._threads.as_tuple()

    def read_all(self) -> ReadResult:
        """Classify every thread (the cold path)."""
        # The token first: anything committed after it moves the next token, so the next poll sees it.
        self._token = self.store.change_token()
        with self.store.snapshot():
            self._latest = self.store.latest_ids()
            threads = self._read(None)
        self._started = True
        before = self._threads
        self._threads = OrderedThreads(threads)
        changed = {tid for tid, t in self._threads.items() if before.get(tid) != t}
        changed |= set(before) - set(self._threads)
        return ReadResult(self._threads.as_tuple(), frozenset(changed), full=True)

    def poll(self) -> ReadResult | None:
        """Re-check cheaply; None when nothing listed changed since the last read."""
        if not self._started:
            return self.read_all()
        token = self.store.change_token()
        if token == self._token:
            return None
        self._token = token
        with self.store.snapshot():
            latest = self.store.latest_ids()
            # New, moved on or gone: the symmetric difference of (thread, latest id) pairs, at C speed.
            changed = {tid for tid, _ in latest.items() ^ self._latest.items()}
            listed = [t for t in self._threads if t not in changed]
            now = self.store.marks(listed)
            changed |= {t for t in listed if now.get(t) != self._threads[t].version}
            fresh = {t.thread_id: t for t in self._read(changed)} if changed else {}
        self._latest = latest
        really_changed = self._threads.update(changed, fresh)
        if not really_changed:
            return None
        return ReadResult(self._threads.as_tuple(), frozenset(really_changed), full=False)

    def thread(self, thread_id: str) -> PendingThread | None:
        """A fresh read of one thread (None when it finished or does not exist)."""
        with self.store.snapshot():
            found = self._read({thread_id})
        return found[0] if found else None

    def context(self, thread_id: str, checkpoint_id: str, graph_id: str | None) -> tuple[Any, ...] | None:
        """The last few messages in a thread's state at one of its root checkpoints (see CheckpointReader.context)."""
        with self.store.snapshot():  # driver errors come out as one sentence, without the password
            checkpoint = self.store.checkpoint_at(thread_id, "", checkpoint_id)
        if checkpoint is None:
            return None
        return thread_context(checkpoint, self.config.graphs.get(graph_id) if graph_id else None)

    def _read(self, thread_ids: Collection[str] | None) -> list[PendingThread]:
        out: list[PendingThread] = []
        for batch in self.store.latest_rows(thread_ids):
            out.extend(classify_rows(self.store, batch, self.config, self.breakpoints))
        return out
