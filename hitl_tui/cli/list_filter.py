"""Which threads `hitl-tui list` prints: the filters scripts pass (`--graph`, `--action`, `--status`)."""

from __future__ import annotations

from dataclasses import dataclass

from hitl_tui.model import PendingThread, ThreadStatus

# Without --status or --all: what waits for a human, and what can't be read (someone should look at it).
WAITING = frozenset({ThreadStatus.PAUSED, ThreadStatus.UNREADABLE})


@dataclass(frozen=True)
class ListFilter:
    """Every given criterion must hold; an empty set of graphs or actions means any."""

    statuses: frozenset[ThreadStatus] = WAITING
    graphs: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    def matches(self, thread: PendingThread) -> bool:
        """True when `thread` is to be printed."""
        if thread.status not in self.statuses:
            return False
        if self.graphs and thread.graph_id not in self.graphs:
            return False
        if self.actions:
            # A thread waiting on several actions is listed when any of them is asked for.
            return any(a.name in self.actions for i in thread.interrupts for a in i.actions)
        return True
