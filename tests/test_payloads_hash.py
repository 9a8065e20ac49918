"""The cached canonical encoder gives exactly the canonical form (sorted keys, no spaces, UTF-8 kept): payload hashes
compared across processes and versions depend on it. A read interrupt's hash is that of its value."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from reader_graphs import SHAPES, cfg, open_saver

from hitl_tui.canonical import _default, value_hash
from hitl_tui.checkpoints.reader import CheckpointReader


def canonical_value_hash(value: Any) -> str:
    """The canonical form spelled out with json.dumps, as documented."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
    | st.binary(max_size=8) | st.sets(st.integers(), max_size=3)
)
VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_same_hash_as_canonical(value: Any) -> None:
    assert value_hash(value) == canonical_value_hash(value)


def test_fixed_examples() -> None:
    for value in ({"b": 1, "a": [1, 2, {"z": "é\u202e\x1b"}]}, "plain", None, {"s": {3, 1, 2}, "b": b"\x00\xff"}):
        assert value_hash(value) == canonical_value_hash(value)


def test_a_read_interrupt_hashes_its_value_when_asked(tmp_path: Path) -> None:
    """The reader leaves the hash to first use (listing needs none); asked, it is the hash of the value shown,
    and a hash given to the constructor is kept as given."""
    path = tmp_path / "checkpoints.db"
    with open_saver(path) as saver:
        SHAPES["parallel"].compile(saver).invoke(SHAPES["parallel"].start, cfg("p-1", "parallel"))
    reader = CheckpointReader(path)
    (thread,) = reader.read_all().threads
    reader.close()
    assert len(thread.interrupts) == 2
    for item in thread.interrupts:
        assert item.payload_hash == value_hash(item.value)
        assert dataclasses.replace(item, payload_hash="f" * 64).payload_hash == "f" * 64
