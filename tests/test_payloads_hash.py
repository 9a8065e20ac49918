"""The cached canonical encoder gives exactly the canonical form (sorted keys, no spaces, UTF-8 kept): payload hashes
compared across processes and versions depend on it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hitl_tui.canonical import _default, value_hash


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
