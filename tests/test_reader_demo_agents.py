"""Every demo agent, as the demo runs it, read back by the reader and compared with LangGraph's `get_state`.

Each agent runs its demo requests (offline planner) until it pauses, then is answered once with an approval in
its own protocol, and again if it pauses again; after every step the reader must agree with LangGraph.
"""

from __future__ import annotations

from typing import Any

import pytest
from demo_fixtures import DemoDB, clean_env, demo_db, run
from langgraph.types import Command
from reader_graphs import Shape, assert_matches

from hitl_tui.checkpoints.classify import Breakpoints
from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.config import Config, GraphConfig
from hitl_tui.demo.catalog import AGENTS
from hitl_tui.model import PayloadShape, PendingInterrupt, ThreadStatus

FIXTURES = (clean_env, demo_db)  # pytest finds fixtures by module attribute


def _approval(item: PendingInterrupt) -> Any:
    """An approving resume value in the protocol of the payload's shape."""
    if item.shape is PayloadShape.HITL:
        return {"decision": "approve"}
    if item.shape is PayloadShape.AGENT_INBOX:
        return [{"type": "accept", "args": None}]
    if item.shape is PayloadShape.MIDDLEWARE_BATCH:
        return {"decisions": [{"type": "approve"} for _ in item.actions]}
    if item.shape is PayloadShape.MIDDLEWARE_PER_CALL:
        return {"type": "approve"}
    return "approved"


@pytest.mark.parametrize("agent", AGENTS, ids=[a.graph_id for a in AGENTS])
def test_demo_agent_pauses_match_get_state(demo_db: DemoDB, agent: Any) -> None:
    gc = GraphConfig(name=agent.graph_id, **{k: tuple(v) if isinstance(v, list) else v
                                            for k, v in agent.graph_config.items()})
    shape = Shape(agent.graph_id, lambda saver, bp: None,
                  breakpoints=Breakpoints(frozenset(gc.interrupt_before), frozenset(gc.interrupt_after)),
                  graph_config=gc)
    reader = CheckpointReader(demo_db.path, Config(graphs={agent.graph_id: gc}))
    graph = demo_db.graph(agent.graph_id)
    threads = [f"{agent.prefix}-{i:04d}" for i in range(1, len(agent.requests) + 1)]
    for tid, request in zip(threads, agent.requests, strict=True):
        run(graph, agent.graph_id, tid, request, user_id="alice")
    paused = 0
    for _ in range(3):  # answer whatever is pending, up to three rounds
        listed = {t.thread_id: t for t in reader.read_all().threads}
        for tid in threads:
            assert_matches(listed.get(tid), graph, demo_db.saver, tid, shape)
            thread = listed.get(tid)
            if thread is None or thread.status is not ThreadStatus.PAUSED:
                continue
            paused += 1
            config = {"configurable": {"thread_id": tid}}
            if thread.interrupts[0].shape is PayloadShape.BREAKPOINT:
                graph.update_state(config, dict(gc.approve_update))
                graph.invoke(None, config)
            else:
                graph.invoke(Command(resume={i.interrupt_id: _approval(i) for i in thread.interrupts}), config)
    assert paused > 0, f"{agent.graph_id} never paused"
    for tid in threads:
        assert_matches(reader.thread(tid), graph, demo_db.saver, tid, shape)
    reader.close()
