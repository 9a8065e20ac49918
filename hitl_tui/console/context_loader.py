"""The console's context thread: reads the recent messages of the thread the operator looks at. No Textual here.

Listings leave every thread's chat history out (see checkpoints/context_messages.py); the details pane asks for
the one it shows. Only the newest request counts: a cursor run over twenty rows reads the row it stopped on, not
all twenty. Each read opens a connection of its own and closes it: it never waits behind the DB watcher's first
read of a big DB, and it never holds on to a DB file that was deleted or replaced meanwhile (a held connection would
keep reading the old file, and keeps POSIX locks another tool's open() of the path would drop).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hitl_tui.console.loop_events import Emit, sentence

ContextKey = tuple[str, str]
"""(thread id, checkpoint id): the context of one checkpoint never changes, so it is read once."""


class ContextSource(Protocol):
    """Where the console reads a thread's context from (`CheckpointReader`, `PostgresThreadReader`)."""

    def context(self, thread_id: str, checkpoint_id: str, graph_id: str | None) -> tuple[Any, ...]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class ContextRead:
    key: ContextKey
    messages: tuple[Any, ...] = ()
    error: str | None = None  # one sentence when it could not be read


class ContextLoader:
    """Reads one thread's context at a time, in its own thread (`run`), on a source built there for each read."""

    def __init__(self, make_source: Callable[[], ContextSource], emit: Emit) -> None:
        self._make_source = make_source
        self._emit = emit
        self._changed = threading.Condition()
        self._wanted: tuple[ContextKey, str | None] | None = None
        self._stopped = False

    def request(self, key: ContextKey, graph_id: str | None) -> None:
        """Read this context next, instead of any request not started yet."""
        with self._changed:
            self._wanted = (key, graph_id)
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()

    def run(self) -> None:
        while (wanted := self._next()) is not None:
            key, graph_id = wanted
            source: ContextSource | None = None
            try:
                source = self._make_source()
                read = ContextRead(key, source.context(key[0], key[1], graph_id))
            except Exception as err:  # the pane says so in one line; the next request tries again
                read = ContextRead(key, error=sentence(err))
            finally:
                _close(source)
            self._emit(read)

    def _next(self) -> tuple[ContextKey, str | None] | None:
        with self._changed:
            while self._wanted is None and not self._stopped:
                self._changed.wait()
            if self._stopped:
                return None
            wanted, self._wanted = self._wanted, None
            return wanted


def _close(source: ContextSource | None) -> None:
    if source is not None:
        with contextlib.suppress(Exception):
            source.close()
