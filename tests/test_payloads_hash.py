"""The reader's fast payload hash is exactly `canonical.value_hash`: decisions and audit compare the two."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hitl_tui.canonical import value_hash as canonical_value_hash
from hitl_tui.payloads import value_hash

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
