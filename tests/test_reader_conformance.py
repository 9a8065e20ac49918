"""The reader agrees with LangGraph's own `get_state(config, subgraphs=True)` in every pause style.

Each test drives real graphs writing through a real saver, and after every step compares what the reader found
(status, next nodes with repeats, interrupt ids, namespaces, nodes and values, failure) with LangGraph's answer.
Every test runs twice with the same graphs: on a SQLite file (SqliteSaver, CheckpointReader) and on a Postgres
database (PostgresSaver, the Postgres store), so both backends answer alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from langgraph.types import Command
from reader_backends import OpenReader
from reader_graphs import SHAPES, Shape, assert_matches, cfg

from hitl_tui.config import Config, GraphConfig
from hitl_tui.model import PayloadShape, ThreadStatus


def config_for(shapes: Iterable[Shape]) -> Config:
    """The config.toml a deployment would write for these graphs (breakpoint nodes per graph id)."""
    graphs = {}
    for s in shapes:
        base = s.graph_config or GraphConfig(name=s.name)
        graphs[s.name] = GraphConfig(
            **{**base.__dict__, "name": s.name, "interrupt_before": tuple(sorted(s.breakpoints.before)),
               "interrupt_after": tuple(sorted(s.breakpoints.after))}
        )
    return Config(graphs=graphs)


class Harness:
    """One DB, the graphs writing to it, and a reader checked against LangGraph after every step."""

    def __init__(self, open_reader: OpenReader, saver: Any, *shape_names: str) -> None:
        self.saver = saver
        self.shapes = {n: SHAPES[n] for n in shape_names}
        self.graphs = {n: s.compile(saver) for n, s in self.shapes.items()}
        self.reader = open_reader(config_for(self.shapes.values()))
        self.shape_of: dict[str, str] = {}

    def start(self, shape: str, thread_id: str, **extra: Any) -> None:
        self.shape_of[thread_id] = shape
        self.run(thread_id, {**self.shapes[shape].start, **extra})

    def run(self, thread_id: str, value: Any) -> None:
        graph = self.graphs[self.shape_of[thread_id]]
        try:
            graph.invoke(value, cfg(thread_id, self.shape_of[thread_id]))
        except ValueError as err:  # the failing shape's node raises; the thread keeps the error
            assert "the tool is down" in str(err)

    def resume(self, thread_id: str, answers: dict[str, Any]) -> None:
        self.run(thread_id, Command(resume=answers))

    def check(self, thread_id: str | None = None) -> None:
        """Fresh reads (read_all and thread) match LangGraph for one thread or all of them."""
        listed = {t.thread_id: t for t in self.reader.read_all().threads}
        for tid in [thread_id] if thread_id else list(self.shape_of):
            shape = self.shapes[self.shape_of[tid]]
            assert_matches(listed.get(tid), self.graphs[shape.name], self.saver, tid, shape)
            assert self.reader.thread(tid) == listed.get(tid)

    def get(self, thread_id: str) -> Any:
        return self.reader.thread(thread_id)

    def ids(self, thread_id: str) -> list[str]:
        found = self.get(thread_id)
        return sorted(i.interrupt_id for i in found.interrupts) if found else []


def harness(backend_db: Any, *shapes: str) -> Harness:
    return Harness(backend_db[0], backend_db[1], *shapes)


def test_root_interrupt_then_again_then_done(backend_db: Any) -> None:
    h = harness(backend_db, "root")
    h.start("root", "t1")
    h.check("t1")
    first = h.get("t1")
    assert first.status is ThreadStatus.PAUSED and first.next_nodes == ("ask",)
    assert first.interrupts[0].shape is PayloadShape.HITL and first.graph_id == "root"
    h.resume("t1", {first.interrupts[0].interrupt_id: "again"})
    h.check("t1")
    second = h.get("t1")
    assert second.interrupts[0].interrupt_id != first.interrupts[0].interrupt_id
    h.resume("t1", {second.interrupts[0].interrupt_id: "ok"})
    h.check("t1")
    assert h.get("t1") is None


def test_parallel_interrupts_and_partial_resume(backend_db: Any) -> None:
    h = harness(backend_db, "parallel")
    h.start("parallel", "p")
    h.check("p")
    ids = h.ids("p")
    assert len(ids) == 2
    h.resume("p", {ids[0]: "yes"})  # answer one: the other stays pending, same checkpoint
    h.check("p")
    assert h.ids("p") == [ids[1]]
    h.resume("p", {ids[1]: "also yes"})
    h.check("p")
    assert h.get("p") is None


def test_subgraph_interrupt_has_its_namespace(backend_db: Any) -> None:
    h = harness(backend_db, "subgraph")
    h.start("subgraph", "s")
    h.check("s")
    (item,) = h.get("s").interrupts
    assert item.namespace.startswith("sub:") and item.node == "ask" and item.shape is PayloadShape.AGENT_INBOX
    h.resume("s", {item.interrupt_id: [{"type": "accept", "args": None}]})
    h.check("s")
    assert h.get("s") is None


def test_nested_subgraph_and_root_interrupt_in_one_step(backend_db: Any) -> None:
    h = harness(backend_db, "nested")
    h.start("nested", "n")
    h.check("n")
    items = {i.node: i for i in h.get("n").interrupts}
    assert set(items) == {"ask", "root_ask"}
    assert items["ask"].namespace.count("|") == 1 and items["root_ask"].namespace == ""
    h.resume("n", {items["ask"].interrupt_id: "inner ok"})  # the nested one: mid then asks its own question
    h.check("n")
    items = {i.node: i for i in h.get("n").interrupts}
    assert set(items) == {"after_inner", "root_ask"} and items["after_inner"].namespace.startswith("mid:")
    h.resume("n", {i.interrupt_id: "fine" for i in items.values()})
    h.check("n")
    assert h.get("n") is None


def test_send_tasks_interrupt_per_call(backend_db: Any) -> None:
    h = harness(backend_db, "sends")
    h.start("sends", "c")
    h.check("c")
    found = h.get("c")
    assert found.next_nodes == ("tools", "tools", "tools") and {i.node for i in found.interrupts} == {"tools"}
    assert {i.shape for i in found.interrupts} == {PayloadShape.MIDDLEWARE_PER_CALL}
    ids = h.ids("c")
    h.resume("c", {ids[1]: {"type": "approve"}})
    h.check("c")
    assert h.get("c").next_nodes == ("tools", "tools")
    h.resume("c", {ids[0]: {"type": "approve"}, ids[2]: {"type": "reject"}})
    h.check("c")
    assert h.get("c") is None


def test_interrupt_before_update_state_then_continue(backend_db: Any) -> None:
    h = harness(backend_db, "classic_before")
    h.start("classic_before", "b")
    h.check("b")
    found = h.get("b")
    assert found.status is ThreadStatus.PAUSED and found.next_nodes == ("execute",)
    (item,) = found.interrupts
    assert item.interrupt_id is None and item.shape is PayloadShape.BREAKPOINT and item.node == "execute"
    assert item.actions[0].name == "transfer" and item.actions[0].args == {"amount": 100}
    # Feedback through update_state: still paused before execute, on a newer checkpoint, with the new state.
    h.saver_update = h.graphs["classic_before"].update_state(cfg("b"), {"human_feedback": "try less"})
    h.check("b")
    assert h.get("b").checkpoint_id != found.checkpoint_id
    h.run("b", None)  # execute refuses, plan re-plans, pause again before execute
    h.check("b")
    assert h.get("b").interrupts[0].actions[0].args == {"amount": 200}
    h.graphs["classic_before"].update_state(cfg("b"), {"human_feedback": "approved"})
    h.run("b", None)
    h.check("b")
    assert h.get("b") is None


def test_breakpoint_unknown_to_the_reader_is_running_or_stalled(backend_db: Any) -> None:
    open_reader, saver = backend_db
    shape = SHAPES["classic_before"]
    graph = shape.compile(saver)
    graph.invoke(shape.start, cfg("b", shape.name))
    blind = Shape(shape.name, shape.build, shape.start)  # no breakpoints configured
    reader = open_reader(None)
    found = reader.thread("b")
    assert found.status is ThreadStatus.RUNNING_OR_STALLED and found.next_nodes == ("execute",)
    assert_matches(found, graph, saver, "b", blind)


def test_interrupt_after(backend_db: Any) -> None:
    h = harness(backend_db, "classic_after")
    h.start("classic_after", "a")
    h.check("a")
    found = h.get("a")
    assert found.status is ThreadStatus.PAUSED and found.interrupts[0].node == "plan"
    assert found.next_nodes == ("review",)
    h.run("a", None)  # review, execute refuses (no approval), plan again: pause after plan
    h.check("a")
    assert h.get("a").step != found.step
    h.graphs["classic_after"].update_state(cfg("a"), {"human_feedback": "approved"})
    h.check("a")
    h.run("a", None)
    h.check("a")
    assert h.get("a") is None


def test_failed_node_then_fixed(backend_db: Any) -> None:
    h = harness(backend_db, "failing")
    h.start("failing", "f")
    h.check("f")
    found = h.get("f")
    assert found.status is ThreadStatus.RUNNING_OR_STALLED and found.next_nodes == ("work",)
    assert found.error is not None and "the tool is down" in found.error
    h.graphs["failing"].update_state(cfg("f"), {"fail": False})
    h.check("f")
    h.run("f", None)
    h.check("f")
    assert h.get("f").status is ThreadStatus.PAUSED and h.get("f").error is None


def test_run_in_flight_is_running_or_stalled(backend_db: Any) -> None:
    h = harness(backend_db, "root")
    entered, release = threading.Event(), threading.Event()
    shape = SHAPES["root"]

    def slow_build(saver: Any, bp: Any) -> Any:
        from langgraph.graph import START, StateGraph
        from reader_graphs import State

        def slow(s: Any) -> dict[str, Any]:
            entered.set()
            assert release.wait(30)
            return {"log": ["slow"]}

        g = StateGraph(State)
        g.add_node("first", lambda s: {"log": ["first"]})
        g.add_node("slow", slow)
        g.add_edge(START, "first")
        g.add_edge("first", "slow")
        return g.compile(checkpointer=saver)

    h.shapes["slow"] = Shape("slow", slow_build)
    h.graphs["slow"] = h.shapes["slow"].compile(h.saver)
    h.shape_of["r"] = "slow"
    runner = threading.Thread(target=h.run, args=("r", shape.start))
    runner.start()
    try:
        assert entered.wait(30)
        # LangGraph saves the step's checkpoint in the background (durability="async"): wait until it is there.
        deadline = time.monotonic() + 30
        while h.saver.get_tuple(cfg("r")).metadata["step"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        h.check("r")
        found = h.get("r")
        assert found.status is ThreadStatus.RUNNING_OR_STALLED and found.next_nodes == ("slow",)
        assert found.error is None
    finally:
        release.set()
        runner.join(30)
    h.check("r")
    assert h.get("r") is None


def test_deferred_join_and_its_breakpoints(backend_db: Any) -> None:
    h = harness(backend_db, "deferred", "deferred_bp")
    h.start("deferred", "d")
    h.check("d")
    h.resume("d", {h.ids("d")[0]: "go"})
    h.check("d")
    assert h.get("d") is None
    h.start("deferred_bp", "dbp")
    for _ in range(6):  # after a, then b2's interrupt, then before j: each pause matches LangGraph
        h.check("dbp")
        found = h.get("dbp")
        if found is None:
            break
        if found.interrupts and found.interrupts[0].interrupt_id:
            h.resume("dbp", {found.interrupts[0].interrupt_id: "ok"})
        else:
            h.run("dbp", None)
    assert h.get("dbp") is None


def test_two_interrupts_in_one_node_and_resume_with_goto(backend_db: Any) -> None:
    h = harness(backend_db, "twice")
    h.start("twice", "w")
    h.check("w")
    first = h.ids("w")
    h.resume("w", {first[0]: "one"})
    h.check("w")
    (second,) = h.get("w").interrupts
    assert second.interrupt_id != first[0] and second.value == {"second": "one"}
    h.run("w", Command(resume={second.interrupt_id: "two"}, goto="other"))
    h.check("w")
    assert h.get("w") is None


def test_functional_api_entrypoint_and_task(backend_db: Any) -> None:
    h = harness(backend_db, "functional")
    h.start("functional", "fn")
    h.check("fn")
    assert h.get("fn").next_nodes == ("workflow",)
    h.resume("fn", {h.ids("fn")[0]: "A"})
    h.check("fn")
    assert h.get("fn").interrupts[0].value == {"confirm": "A"}
    h.resume("fn", {h.ids("fn")[0]: "B"})
    h.check("fn")
    assert h.get("fn") is None


def test_update_state_on_a_dynamic_interrupt(backend_db: Any) -> None:
    h = harness(backend_db, "root", "parallel")
    h.start("root", "u1")
    h.graphs["root"].update_state(cfg("u1"), {"log": ["edited"]})
    h.check("u1")
    h.start("parallel", "u2")
    h.graphs["parallel"].update_state(cfg("u2"), {"log": ["edited"]}, as_node="a")
    h.check("u2")


def test_many_threads_in_every_state(backend_db: Any) -> None:
    names = ("root", "parallel", "subgraph", "sends", "classic_before", "classic_after", "failing", "twice")
    h = harness(backend_db, *names)
    for i in range(48):
        shape = names[i % len(names)]
        tid = f"{shape}-{i:03d}"
        h.start(shape, tid)
        found = h.get(tid)
        if i % 3 == 1 and found is not None:  # answer everything once: some finish, some pause again
            if found.interrupts and found.interrupts[0].interrupt_id:
                h.resume(tid, {x.interrupt_id: "again" for x in found.interrupts})
            else:
                h.run(tid, None)
    h.check()
    listed = h.reader.read_all().threads
    assert len(listed) > 20 and len({t.thread_id for t in listed}) == len(listed)
