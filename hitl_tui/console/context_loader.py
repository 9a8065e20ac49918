"""The console's context thread: reads the recent messages of the thread the operator looks at. No Textual here.

Listings leave every thread's chat history out (see checkpoints/context_messages.py); the details pane asks for
the one it shows. Only the newest request counts: a cursor run over twenty rows reads the row it stopped on, not
all twenty. The reads have a connection of their own, so they never wait behind the DB watcher's first read of a
big DB. It stays open between reads (opening one costs 50 times a read, in GIL hand-offs that slow the keys while
a big DB loads) for as long as the file at the DB's path is the one it opened; the app drops it (`forget`) when the
watcher finds the DB deleted or moved, so no connection is left on a file that is gone.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from hitl_tui.console.loop_events import Emit, sentence

ContextKey = tuple[str, str]
"""(thread id, checkpoint id): the context of one checkpoint never changes, so it is read once."""


class ContextSource(Protocol):
    """Where the console reads a thread's context from (`CheckpointReader`, `PostgresThreadReader`)."""

    def context(self, thread_id: str, checkpoint_id: str, graph_id: str | None) -> tuple[Any, ...] | None: ...
    def close(self) -> None: ...


NOT_THERE = "that checkpoint is no longer in the DB"


@dataclass(frozen=True)
class ContextRead:
    key: ContextKey
    messages: tuple[Any, ...] = ()
    error: str | None = None  # one sentence when it could not be read


class ContextLoader:
    """Reads one thread's context at a time, in its own thread (`run`), on a source built there."""

    def __init__(
        self, make_source: Callable[[], ContextSource], emit: Emit, *, identity: Callable[[], Hashable] | None = None
    ) -> None:
        """`identity`: what the DB is now (a file's device and inode); a source opened on another one is dropped."""
        self._make_source, self._emit, self._identity = make_source, emit, identity
        self._changed = threading.Condition()
        self._wanted: tuple[ContextKey, str | None] | None = None
        self._stopped = False
        self._source_lock = threading.Lock()  # `forget` comes from the UI thread
        self._source: ContextSource | None = None
        self._opened_on: Hashable = None
        self._forgotten = False  # asked to drop the source while a read was using it

    def request(self, key: ContextKey, graph_id: str | None) -> None:
        """Read this context next, instead of any request not started yet."""
        with self._changed:
            self._wanted = (key, graph_id)
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()

    def forget(self) -> None:
        """Drop the source (its DB was deleted, moved or failed): at once when no read is using it, else right
        after that read. Never waits: the UI thread calls this, and a stuck read may take seconds."""
        self._forgotten = True
        if self._source_lock.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._source_lock.release()

    def run(self) -> None:
        try:
            while (wanted := self._next()) is not None:
                key, graph_id = wanted
                with self._source_lock:
                    read = self._read(key, graph_id)
                    if self._forgotten:
                        self._drop()
                with contextlib.suppress(Exception):  # a closing app: nothing left to tell
                    self._emit(read)
        finally:
            with self._source_lock:
                self._drop()

    def _read(self, key: ContextKey, graph_id: str | None) -> ContextRead:
        """One read; a source kept from earlier reads gets one retry on a fresh one (a dropped server connection,
        a file swapped between the stat and the read) before the failure is reported."""
        for attempt in (1, 2):
            fresh = self._source is None or attempt == 2
            try:
                if attempt == 2:
                    self._drop()
                messages = self._current().context(key[0], key[1], graph_id)
            except Exception as err:
                self._drop()
                if fresh:
                    return ContextRead(key, error=_sentence(err))
                continue
            if messages is not None:
                return ContextRead(key, messages)
            if fresh:
                return ContextRead(key, error=NOT_THERE)
        return ContextRead(key, error=NOT_THERE)  # not reached: the second attempt is always fresh

    def _next(self) -> tuple[ContextKey, str | None] | None:
        with self._changed:
            while self._wanted is None and not self._stopped:
                self._changed.wait()
            if self._stopped:
                return None
            wanted, self._wanted = self._wanted, None
            return wanted

    def _current(self) -> ContextSource:
        now = self._identity() if self._identity is not None else None
        if self._source is not None and now != self._opened_on:
            self._drop()  # another file at the DB's path: never read the old one
        if self._source is None:
            self._forgotten = False
            self._source, self._opened_on = self._make_source(), now
        return self._source

    def _drop(self) -> None:
        _close(self._source)
        self._source = None


def _sentence(err: BaseException) -> str:
    try:
        return sentence(err)
    except Exception:
        return type(err).__name__


def _close(source: ContextSource | None) -> None:
    if source is not None:
        with contextlib.suppress(Exception):
            source.close()
