"""Hold the cyclic garbage collector off while tens of thousands of long-lived, acyclic objects are made.

A cold read of a big DB, or a first load of its rows into the console, allocates millions of small objects that
hold no reference cycles. The collector would run dozens of full passes over the growing heap meanwhile (a tenth
of the read, and stutters in the console). What was made is frozen after (`gc.freeze`): it lives on, and merely
re-enabling the collector would make the next allocation pay for a collection that walks it all. Frozen objects
are still freed by reference counting when dropped.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_gc(*, enabled: bool = True) -> Iterator[None]:
    """No cyclic GC inside the block (when `enabled` and the collector was on); freeze what exists after it."""
    was = gc.isenabled()
    if enabled and was:
        gc.disable()
    try:
        yield
    finally:
        if enabled and was:
            gc.freeze()
            gc.enable()
