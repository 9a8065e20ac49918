"""Seeded random runs of invoke / resume / update_state / delete across many graph shapes.

After every step: a fresh `read_all()` matches LangGraph for every thread, and a long-lived reader that only
ever `poll()`s holds exactly the same list, with `changed` naming exactly the threads whose entry changed.
On both backends (SQLite and Postgres, see reader_backends.py).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from langgraph.errors import InvalidUpdateError
from langgraph.types import Command
from reader_graphs import SHAPES, assert_matches, cfg
from test_reader_conformance import config_for

from hitl_tui.model import PendingThread

SHAPE_NAMES = ("root", "parallel", "subgraph", "nested", "sends", "classic_before", "classic_after", "failing",
               "deferred_bp", "twice", "functional")
ANSWERS = ("ok", "again", {"type": "approve"}, [{"type": "accept", "args": None}], "no")
STEPS = 36


def _step(rng: random.Random, graphs: dict[str, Any], saver: Any, shape_of: dict[str, str], reader: Any) -> str:
    """One random operation, as an agent or an operator would do it; returns what it did (for messages)."""
    listed = {t.thread_id: t for t in reader.read_all().threads}
    op = rng.choice(["start", "start", "answer", "answer", "answer", "continue", "update", "delete"])
    if op == "start" or not shape_of:
        shape = rng.choice(SHAPE_NAMES)
        tid = f"{shape}-{len(shape_of):03d}"
        shape_of[tid] = shape
        _invoke(graphs[shape], SHAPES[shape].start, tid, shape)
        return f"start {tid}"
    waiting = sorted(t for t, x in listed.items() if x.interrupts and x.interrupts[0].interrupt_id)
    tid = rng.choice(waiting) if op == "answer" and waiting else rng.choice(sorted(shape_of))
    graph, shape = graphs[shape_of[tid]], shape_of[tid]
    thread: PendingThread | None = listed.get(tid)
    if op == "answer" and thread is not None and thread.interrupts and thread.interrupts[0].interrupt_id:
        ids = [i.interrupt_id for i in thread.interrupts]
        chosen = rng.sample(ids, rng.randint(1, len(ids)))  # sometimes only some of them
        _invoke(graph, Command(resume={i: rng.choice(ANSWERS) for i in chosen}), tid, shape)
        return f"answer {len(chosen)}/{len(ids)} of {tid}"
    if op in ("answer", "continue"):
        _invoke(graph, None, tid, shape)
        return f"continue {tid}"
    if op == "update":
        values = rng.choice([{"log": ["edited"]}, {"human_feedback": "approved"}, {"fail": False}])
        try:
            graph.update_state(cfg(tid), values)
        except (InvalidUpdateError, ValueError, KeyError, TypeError):
            return f"update of {tid} refused by LangGraph"
        return f"update {tid} {values}"
    saver.delete_thread(tid)
    del shape_of[tid]
    return f"delete {tid}"


def _invoke(graph: Any, value: Any, tid: str, shape: str) -> None:
    try:
        graph.invoke(value, cfg(tid, shape))
    except ValueError as err:  # the failing shape's node raises; the thread keeps the error
        assert "the tool is down" in str(err)
    except RuntimeError as err:  # resuming a thread that is not paused, in ways LangGraph refuses
        assert "resume" in str(err).lower() or "interrupt" in str(err).lower(), err


@pytest.mark.parametrize("seed", range(5))
def test_random_histories_match_langgraph_and_poll(backend_db: Any, seed: int) -> None:
    rng = random.Random(seed)
    open_reader, saver = backend_db
    config = config_for(SHAPES[n] for n in SHAPE_NAMES)
    graphs = {n: SHAPES[n].compile(saver) for n in SHAPE_NAMES}
    shape_of: dict[str, str] = {}
    oracle_reader = open_reader(config)
    poller = open_reader(config)
    before = {t.thread_id: t for t in poller.read_all().threads}
    for step in range(STEPS):
        did = _step(rng, graphs, saver, shape_of, oracle_reader)
        fresh = open_reader(config)
        try:
            now = {t.thread_id: t for t in fresh.read_all().threads}
        finally:
            fresh.close()
        for tid, shape in shape_of.items():
            assert_matches(now.get(tid), graphs[shape], saver, tid, SHAPES[shape])
        assert set(now) <= set(shape_of), f"step {step} ({did}): a deleted thread is still listed"
        result = poller.poll()
        expected_changed = {t for t in set(now) | set(before) if now.get(t) != before.get(t)}
        if result is None:
            assert not expected_changed, f"step {step} ({did}): poll saw nothing, {expected_changed} changed"
        else:
            assert set(result.changed) == expected_changed, f"step {step} ({did})"
            assert {t.thread_id: t for t in result.threads} == now
        assert {t.thread_id: t for t in poller.threads} == now, f"step {step} ({did})"
        before = now
    oracle_reader.close()
    poller.close()
