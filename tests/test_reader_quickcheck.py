"""The byte-level shortcut never calls a thread finished when decoding would find something left to run.

`may_have_tasks(...) is False` must imply `pending_tasks(decoded) == []`, for every checkpoint real graphs write
and for generated ones whose state is full of look-alike strings; and it must say False for finished threads,
or it would be useless.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.errors import InvalidUpdateError
from langgraph.types import Command, Send
from reader_graphs import SHAPES, cfg, open_saver

from hitl_tui.checkpoints.classify import pending_tasks
from hitl_tui.checkpoints.decode import decode_typed
from hitl_tui.checkpoints.prefilter import EMPTY_SET, may_have_tasks

SERDE = JsonPlusSerializer()


def test_empty_set_bytes_are_what_langgraph_writes() -> None:
    assert SERDE.dumps_typed(set()) == ("msgpack", EMPTY_SET)


def _sound(type_: str, blob: bytes) -> bool:
    """The shortcut is allowed to say "maybe" anywhere, "no" only where decoding finds no task."""
    return may_have_tasks(type_, blob) or not pending_tasks(decode_typed(type_, blob))


def test_every_checkpoint_of_real_graphs(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.db"
    with open_saver(path) as saver:
        for name, shape in SHAPES.items():
            graph = shape.compile(saver)
            for n in range(2):
                tid = f"{name}-{n}"
                try:
                    graph.invoke(shape.start, cfg(tid, name))
                    for _ in range(4):  # answer everything until it finishes
                        state = graph.get_state(cfg(tid))
                        if not state.next:
                            break
                        if state.interrupts:
                            graph.invoke(Command(resume={i.id: "ok" for i in state.interrupts}), cfg(tid))
                        else:
                            graph.update_state(cfg(tid), {"human_feedback": "approved", "fail": False})
                            graph.invoke(None, cfg(tid))
                except (ValueError, InvalidUpdateError):
                    pass  # the failing shape; an update LangGraph can't place
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT type, checkpoint FROM checkpoints").fetchall()
    latest = conn.execute(
        "SELECT c.type, c.checkpoint FROM checkpoints c JOIN (SELECT thread_id, MAX(checkpoint_id) AS cid "
        "FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id) l "
        "ON c.thread_id = l.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id = l.cid"
    ).fetchall()
    conn.close()
    assert len(rows) > 100
    for type_, blob in rows:
        assert _sound(type_, blob), decode_typed(type_, blob)["channel_values"]
    finished = [r for r in latest if not pending_tasks(decode_typed(*r))]
    skipped = [r for r in finished if not may_have_tasks(*r)]
    assert len(finished) >= 10 and len(skipped) >= 0.8 * len(finished)  # it pays for itself


# Strings that look like the markers the shortcut looks for, to put into user state.
TRICKY = st.sampled_from([
    "channel_values", "channel_versions", "branch:to:x", "join:a+b:c", "__pregel_tasks", "__start__",
    "updated_channels", "versions_seen", "x", "",
])
USER_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TRICKY | st.text(max_size=5) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY | st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
TRIGGER = st.sampled_from(["branch:to:n1", "branch:to:n2", "join:a+b:n3", "__pregel_tasks", "__start__"])


@st.composite
def checkpoints(draw: Any) -> dict[str, Any]:
    values: dict[str, Any] = draw(st.dictionaries(TRICKY | st.text(max_size=6), USER_VALUE, max_size=4))
    versions = {k: f"{i + 2:032d}.0.5" for i, k in enumerate(values)}
    seen: dict[str, dict[str, str]] = {}
    for trigger in draw(st.lists(TRIGGER, max_size=3, unique=True)):
        kind = draw(st.sampled_from(["fresh", "seen", "consumed", "odd"]))
        value: Any = {
            "__pregel_tasks": draw(st.sampled_from([[], [Send("n4", {"x": 1})]])),
            "join:a+b:n3": draw(st.sampled_from([set(), {"a"}, {"a", "b"}, ({"a", "b"}, False), ({"a", "b"}, True)])),
        }.get(trigger, draw(st.sampled_from([None, "__start__", (None, False), (None, True)])))
        node = trigger.rsplit(":", 1)[-1] if ":" in trigger else trigger
        if kind != "consumed":
            values[trigger] = value if kind != "odd" else draw(USER_VALUE)
        versions[trigger] = f"{5:032d}.0.1"
        if kind == "seen":
            seen[node] = {trigger: f"{5:032d}.0.1"}
    return {"v": 4, "ts": "2026-01-01T00:00:00+00:00", "id": "1f0e0000-0000-6000-8000-000000000000",
            "channel_values": values, "channel_versions": versions, "versions_seen": seen,
            "updated_channels": draw(st.none() | st.lists(TRICKY, max_size=3))}


@settings(max_examples=400, deadline=None)
@given(checkpoints())
def test_generated_checkpoints(checkpoint: dict[str, Any]) -> None:
    type_, blob = SERDE.dumps_typed(checkpoint)
    assert _sound(type_, blob), checkpoint


def _checkpoint(values: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint with LangGraph's key order."""
    return {"v": 4, "ts": "2026-01-01T00:00:00+00:00", "id": "1f0e0000-0000-6000-8000-000000000000",
            "channel_values": values,
            "channel_versions": {"messages": "2", "branch:to:b": "3", "join:a+b:c": "3", "__pregel_tasks": "3"},
            "versions_seen": {"b": {"branch:to:b": "3"}}, "updated_channels": ["messages"]}


def test_a_finished_thread_is_skipped_and_a_paused_one_is_not() -> None:
    done = _checkpoint({"messages": ["all done"], "join:a+b:c": set(), "__pregel_tasks": []})
    assert not may_have_tasks(*SERDE.dumps_typed(done))
    assert may_have_tasks(*SERDE.dumps_typed(_checkpoint({"messages": [], "branch:to:b": None})))
    assert may_have_tasks(*SERDE.dumps_typed(_checkpoint({"join:a+b:c": {"a"}})))
    # Look-alike text is only ever a reason to decode, never a reason to skip.
    assert may_have_tasks(*SERDE.dumps_typed(_checkpoint({"messages": ["talk about branch:to: later"]})))
    assert may_have_tasks("json", b"{}") and may_have_tasks("msgpack", None)
