"""What the thread list shows, as a sequence that can also say where a key is.

Two kinds: `ListedRows`, a plain list (a filtered or re-sorted view, indexed on first use), and the item book's live
view (`item_book.BookRows`), which finds a key by bisection and copies nothing. With 50,000 rows, copying and
indexing the whole list on every poll was most of the time a new pause took to show.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from hitl_tui.console.review_items import ReviewItem


@runtime_checkable
class Rows(Protocol):
    """Rows in display order: a length, an item at an index, and a key's index (None: not among them)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> ReviewItem: ...

    def __iter__(self) -> Iterator[ReviewItem]: ...

    def index_of(self, key: str) -> int | None: ...


class ListedRows(Sequence[ReviewItem]):
    """A list of rows, with an index of their keys built the first time one is looked up."""

    def __init__(self, items: list[ReviewItem]) -> None:
        self._items = items
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> ReviewItem:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("ListedRows takes an index, not a slice")
        return self._items[index]

    def __iter__(self) -> Iterator[ReviewItem]:
        return iter(self._items)

    def index_of(self, key: str) -> int | None:
        if self._index is None:
            self._index = {it.key: i for i, it in enumerate(self._items)}
        return self._index.get(key)
