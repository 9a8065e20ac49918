"""The book of review items the console lists: threads merged with the ledger's records and votes, kept in
display order as updates arrive (a few rows per poll, bisected in), with decided items lingering a while after
they left the DB. No Textual in here: pure data, tested directly.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hitl_tui.console.review_items import Order, ReviewItem, item_key, ledger_key, row_order
from hitl_tui.decisions.decision import DecisionRecord
from hitl_tui.decisions.state import ItemKey, Voter
from hitl_tui.gc_pause import no_gc
from hitl_tui.model import PendingInterrupt, PendingThread, ThreadStatus

GHOST_TTL = timedelta(minutes=10)  # how long a decided item stays listed after it left the DB's pending set
_BISECT_UP_TO = 32  # new rows in one update up to which each is inserted by bisection
_BIG_BATCH = 100  # threads in one update from which the GC is held off (a poll brings a few)


@dataclass
class ItemBook:
    """The merged, ordered list of items: the reader's threads, the ledger's records and this console's notes.

    Updates are incremental: a poll that changed one thread of 10,000 rebuilds that thread's items only, and new
    pauses (the newest checkpoints) are appended without re-sorting.
    """

    clock: Callable[[], datetime]
    assess: Callable[[PendingThread, PendingInterrupt], Any] | None = None  # the policy's view of an interrupt
    ghost_ttl: timedelta = GHOST_TTL
    items: dict[str, ReviewItem] = field(default_factory=dict)  # key -> row; display order is `ordered()`
    _pending: dict[str, tuple[ReviewItem, ...]] = field(default_factory=dict)  # thread id -> its rows, no notes
    _records: dict[str, DecisionRecord] = field(default_factory=dict)
    _votes: dict[str, tuple[Voter, ...]] = field(default_factory=dict)
    _local: dict[str, str] = field(default_factory=dict)
    _ghosts: dict[str, ReviewItem] = field(default_factory=dict)  # rows that left the DB's pending set
    # row.order of every row, sorted: the display order, kept by bisection instead of re-sorting 50k rows (rows
    # added during an update wait in _late until its end).
    _order: list[Order] = field(default_factory=list)
    _late: list[Order] = field(default_factory=list)
    # What counts() says, kept as rows come and go: summing 50k rows on every update is felt in the UI.
    _tally: dict[str, int] = field(default_factory=lambda: {"waiting": 0, "decided": 0, "unreadable": 0})
    # Rows whose status is more than "waiting" (a record, a note, votes): the few the status column is sized for.
    _noted: set[str] = field(default_factory=set)

    def set_threads(self, threads: Sequence[PendingThread], changed: Iterable[str] | None = None) -> set[str]:
        """Take the reader's threads (`changed`: the thread ids that changed; None: all). Returns new keys."""
        # A full load (or a batch of a first read) creates thousands of small objects next to a big live heap: the
        # cyclic GC would run dozens of full passes over it (4x the work). Nothing here makes cycles.
        with no_gc(enabled=changed is None or len(threads) >= _BIG_BATCH):
            return self._set_threads(threads, changed)

    def _set_threads(self, threads: Sequence[PendingThread], changed: Iterable[str] | None) -> set[str]:
        if changed is None:
            # The reader lists threads in pause order already: keep it, so rows are appended in order.
            fresh = {t.thread_id: _rows_of(t, self.assess) for t in threads}
            order = list(fresh) + [tid for tid in self._pending if tid not in fresh]
        else:
            touched = set(changed)
            by_id = {t.thread_id: t for t in threads if t.thread_id in touched}
            fresh = {tid: _rows_of(by_id[tid], self.assess) for tid in touched if tid in by_id}
            order = sorted(touched, key=lambda t: fresh[t][0].order if fresh.get(t) else row_order("", t, 0, ""))
        added: set[str] = set()
        now = self.clock()
        for tid in order:
            old_rows = self._pending.pop(tid, ())
            new_rows = fresh.get(tid, ())
            if new_rows:
                self._pending[tid] = new_rows
            new_keys = {r.key for r in new_rows}
            for row in old_rows:
                if row.key not in new_keys:
                    self._leave(row, now)
            for row in new_rows:
                if row.key not in self.items:
                    added.add(row.key)
                self._put(row)
        self._expire_ghosts(now)
        self._sort_if_needed()
        return added

    def set_records(self, records: Iterable[DecisionRecord]) -> bool:
        """Take the ledger's latest records; True when anything shown changed."""
        fresh: dict[str, DecisionRecord] = {}
        for rec in records:
            key = item_key(rec.thread_id, rec.checkpoint_id, rec.interrupt_key)
            old = fresh.get(key)
            if old is None or rec.decided_at >= old.decided_at:
                fresh[key] = rec
        if fresh == self._records:
            return False
        keys = {k for k in fresh.keys() | self._records.keys() if fresh.get(k) != self._records.get(k)}
        self._records = fresh
        self._renote(keys)
        self._expire_ghosts(self.clock())
        self._sort_if_needed()
        return True

    def set_votes(self, votes: dict[ItemKey, tuple[Voter, ...]]) -> bool:
        """Take the open four-eyes rounds from the shared ledger; True when anything shown changed."""
        fresh = {ledger_key(k): v for k, v in votes.items()}
        if fresh == self._votes:
            return False
        keys = {k for k in fresh.keys() | self._votes.keys() if fresh.get(k) != self._votes.get(k)}
        self._votes = fresh
        self._renote(keys)
        return True

    def add_votes(self, key: str, voters: tuple[Voter, ...]) -> None:
        """Approvals this console just gathered, shown before the next read of the ledger brings them."""
        self._votes[key] = voters
        self._renote({key})

    def set_local(self, key: str, note: str | None) -> None:
        if note is None:
            self._local.pop(key, None)
        else:
            self._local[key] = note
        self._renote({key})
        self._sort_if_needed()

    def records(self) -> list[DecisionRecord]:
        return list(self._records.values())

    def ordered(self) -> list[ReviewItem]:
        """Every row in display order (oldest pause first)."""
        items = self.items
        return [items[entry[-1]] for entry in self._order]

    def ordered_keys(self) -> list[str]:
        """The keys of `ordered()`, in the same order (without touching every row)."""
        return [entry[-1] for entry in self._order]

    def rows(self) -> BookRows:
        """Every row in display order, as a live view: nothing is copied, so a poll that changed one thread of
        50,000 costs the list nothing but the changed rows."""
        return BookRows(self)

    def longest_status(self) -> int:
        """The length of the longest status text of any row that says more than "waiting"."""
        items = self.items
        return max((len(items[k].status) for k in self._noted), default=0)

    def counts(self) -> dict[str, int]:
        """How many rows wait, were decided, or can't be read."""
        return dict(self._tally)

    # -- internals ---------------------------------------------------------------------------------------------

    def _leave(self, row: ReviewItem, now: datetime) -> None:
        """A row left the DB's pending set: keep it while there is something to say about it."""
        record = self._records.get(row.key)
        if (record is not None and now - record.decided_at <= self.ghost_ttl) or row.key in self._local:
            ghost = ReviewItem(row.key, row.thread, row.interrupt, pending=False, assessment=row.assessment)
            self._ghosts[row.key] = ghost
            self._put(ghost)
        else:
            self._drop(row.key)

    def _expire_ghosts(self, now: datetime) -> None:
        for key in list(self._ghosts):
            record = self._records.get(key)
            if key in self._local or (record is not None and now - record.decided_at <= self.ghost_ttl):
                continue
            if self.items.get(key) is not None and not self.items[key].pending:
                self._drop(key)
            del self._ghosts[key]

    def _base(self, key: str) -> ReviewItem | None:
        ghost = self._ghosts.get(key)
        if ghost is not None:
            return ghost
        current = self.items.get(key)
        if current is None:
            return None
        return next((r for r in self._pending.get(current.thread.thread_id, ()) if r.key == key), None)

    def _renote(self, keys: Iterable[str]) -> None:
        for key in keys:
            base = self._base(key)
            if base is not None:
                self._put(base)

    def _put(self, base: ReviewItem) -> None:
        """Insert or replace a row (with its notes), keeping display order."""
        if base.pending:
            self._ghosts.pop(base.key, None)
        self._store(base.key, self._with_notes(base))

    def _store(self, key: str, item: ReviewItem) -> None:
        old = self.items.get(key)
        if old is not None:
            self._count(old, -1)
            if old.thread is not item.thread and old.order != (order := item.order):
                self._unlist(old.order)
                self._late.append(order)
        else:
            self._late.append(item.order)
        self.items[key] = item
        self._count(item, 1)

    def _drop(self, key: str) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self._count(old, -1)
            self._unlist(old.order)

    def _unlist(self, entry: Order) -> None:
        at = bisect.bisect_left(self._order, entry)
        if at < len(self._order) and self._order[at] == entry:
            del self._order[at]
        else:  # added in this same update: not merged yet
            self._late.remove(entry)

    def _count(self, item: ReviewItem, by: int) -> None:
        if by > 0 and (item.record is not None or item.local or item.voters):
            self._noted.add(item.key)
        elif by < 0:
            self._noted.discard(item.key)
        if item.record is not None:
            self._tally["decided"] += by
        elif item.interrupt is None:
            self._tally["unreadable"] += by
        elif item.pending:
            self._tally["waiting"] += by

    def _sort_if_needed(self) -> None:
        """Merge the rows added since the last update into display order."""
        if not self._late:
            return
        if len(self._late) > _BISECT_UP_TO:
            # A batch of a first read: one sort of (order, key) tuples in C, over runs already in order.
            self._order.extend(self._late)
            self._order.sort()
        else:  # a poll's few rows: each a bisect and a memmove, no pass over the rest
            for entry in self._late:
                bisect.insort(self._order, entry)
        self._late.clear()

    def _with_notes(self, item: ReviewItem) -> ReviewItem:
        record, local, voters = self._records.get(item.key), self._local.get(item.key), self._votes.get(item.key, ())
        if record is None and local is None and not voters:
            return item
        return ReviewItem(item.key, item.thread, item.interrupt, record, item.pending, local, item.assessment,
                          voters)


def _rows_of(
    thread: PendingThread, assess: Callable[[PendingThread, PendingInterrupt], Any] | None = None
) -> tuple[ReviewItem, ...]:
    """The rows a thread contributes: one per pending interrupt, one for an unreadable thread, else none."""
    if thread.status is ThreadStatus.UNREADABLE:
        return (ReviewItem(item_key(thread.thread_id, thread.checkpoint_id, "unreadable"), thread, None),)
    if thread.status is not ThreadStatus.PAUSED:
        return ()
    return tuple(
        ReviewItem(item_key(thread.thread_id, thread.checkpoint_id, i.key), thread, i,
                   assessment=assess(thread, i) if assess else None)
        for i in thread.interrupts
    )


class BookRows(Sequence[ReviewItem]):
    """A book's rows in display order, read through to the book (see `ItemBook.rows`)."""

    def __init__(self, book: ItemBook) -> None:
        self._book = book

    def __len__(self) -> int:
        return len(self._book._order)

    def __getitem__(self, index: int) -> ReviewItem:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("BookRows takes an index, not a slice")
        return self._book.items[self._book._order[index][-1]]

    def __iter__(self) -> Iterator[ReviewItem]:
        items = self._book.items
        return (items[entry[-1]] for entry in self._book._order)

    def index_of(self, key: str) -> int | None:
        """Where the row with this key is (None: not listed), by bisection."""
        item = self._book.items.get(key)
        if item is None:
            return None
        order = self._book._order
        at = bisect.bisect_left(order, item.order)
        return at if at < len(order) and order[at][-1] == key else None
