"""A thread's context (its recent messages) is read on demand, for the checkpoint an operator looks at, from real
LangGraph graphs whose state holds LangChain messages, on SQLite and on Postgres; listings carry none of it."""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from reader_graphs import cfg, open_pg_saver, open_saver

from hitl_tui.checkpoints.context_messages import MESSAGE_TEXT_KEPT
from hitl_tui.config import Config, GraphConfig
from hitl_tui.console.shown import message_lines
from hitl_tui.model import PendingThread


class Chat(TypedDict, total=False):
    history: Annotated[list[Any], operator.add]
    done: bool


def _agent(state: Chat) -> dict[str, Any]:
    turn = len(state.get("history") or [])
    call = {"name": "send_email", "args": {"to": "bob@example.com"}, "id": f"call-{turn}"}
    return {"history": [AIMessage(content="I will send it" + "!" * 400, tool_calls=[call])]}


def _review(state: Chat) -> dict[str, Any]:
    answer = interrupt({"action": "send_email", "args": {"to": "bob@example.com"}})
    return {"history": [ToolMessage(content=f"operator said {answer}", tool_call_id="call-1")]}


def _graph(saver: Any) -> Any:
    builder = StateGraph(Chat)
    builder.add_node("agent", _agent)
    builder.add_node("review", _review)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=saver)


CONFIG = Config(graphs={"chat": GraphConfig(name="chat", messages_field="history")})


@contextmanager
def sqlite_case(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    from hitl_tui.checkpoints.reader import CheckpointReader

    db = tmp_path / "checkpoints.db"
    with open_saver(db) as saver:
        reader = CheckpointReader(db, CONFIG)
        try:
            yield saver, reader
        finally:
            reader.close()


@contextmanager
def postgres_case(dsn: str) -> Iterator[tuple[Any, Any]]:
    from hitl_tui.checkpoints.postgres.thread_reader import PostgresThreadReader

    with open_pg_saver(dsn) as saver:
        reader = PostgresThreadReader(dsn, CONFIG)
        try:
            yield saver, reader
        finally:
            reader.close()


@pytest.fixture(params=["sqlite", "postgres"])
def case(request: Any, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    if request.param == "sqlite":
        with sqlite_case(tmp_path) as found:
            yield found
    else:
        with postgres_case(request.getfixturevalue("pg_dsn")) as found:
            yield found


def _listed(reader: Any, thread_id: str) -> PendingThread:
    return next(t for t in reader.read_all().threads if t.thread_id == thread_id)


def _paused(case: tuple[Any, Any], thread_id: str, graph_id: str, text: str) -> tuple[Any, Any, PendingThread]:
    """Run the chat graph until it waits for a human; the graph, the reader and the thread as listed."""
    saver, reader = case
    graph = _graph(saver)
    graph.invoke({"history": [HumanMessage(content=text)]}, cfg(thread_id, graph_id))
    return graph, reader, _listed(reader, thread_id)


def test_the_listing_keeps_no_messages_and_context_reads_them_at_the_listed_checkpoint(
    case: tuple[Any, Any],
) -> None:
    graph, reader, listed = _paused(case, "t1", "chat", "mail bob the report")
    assert not hasattr(listed, "messages")  # 40k listed threads keep no chat history

    context = reader.context("t1", listed.checkpoint_id, listed.graph_id)
    assert [role for role, _ in context] == ["human", "ai"]  # LangChain's own message types, decoded safely
    assert context[0][1] == "mail bob the report"
    text = context[1][1]
    assert text.startswith("I will send it!") and text.endswith("!") and len(text) == MESSAGE_TEXT_KEPT
    lines = [line.plain for line in message_lines(context)]
    assert lines[0] == "human: mail bob the report"
    assert lines[1].startswith("ai: I will send it!!") and lines[1].endswith("…")

    # The thread moves on; the checkpoint the operator was shown still reads as it was, the new one has more.
    (item,) = listed.interrupts
    graph.invoke(Command(resume={item.interrupt_id: "yes"}), cfg("t1", "chat"))
    assert reader.context("t1", listed.checkpoint_id, listed.graph_id) == context
    state = graph.get_state(cfg("t1"))
    latest = state.config["configurable"]["checkpoint_id"]
    later = reader.context("t1", latest, "chat")
    assert [role for role, _ in later] == ["human", "ai", "tool"] and later[2][1] == "operator said yes"


def test_a_graph_without_a_messages_field_setting_reads_messages_and_an_unknown_checkpoint_is_not_there(
    case: tuple[Any, Any],
) -> None:
    _, reader, listed = _paused(case, "t2", "unconfigured", "hello")
    assert reader.context("t2", listed.checkpoint_id, "unconfigured") == ()  # no `messages` channel there
    assert reader.context("t2", listed.checkpoint_id, "chat") != ()  # the configured field is `history`
    # Not there (told apart from "no messages", so the console reads it again on a fresh connection):
    assert reader.context("t2", "1f000000-0000-6000-8000-000000000000", "chat") is None
    assert reader.context("nobody", listed.checkpoint_id, "chat") is None


def test_the_context_thread_reads_the_newest_request_and_keeps_one_connection_to_the_file_it_opened(
    tmp_path: Path,
) -> None:
    import functools
    import queue
    import threading

    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.console.context_loader import NOT_THERE, ContextLoader, ContextRead
    from hitl_tui.console.watchers import file_identity

    db = tmp_path / "later.db"
    opened: list[CheckpointReader] = []

    def make_source() -> CheckpointReader:
        opened.append(CheckpointReader(db, CONFIG))  # no DB yet: a HitlError, in one sentence
        return opened[-1]

    def closed(reader: CheckpointReader) -> bool:
        try:
            reader._conn.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False

    events: queue.Queue[ContextRead] = queue.Queue()
    loader = ContextLoader(make_source, events.put, identity=functools.partial(file_identity, db))
    loader.request(("t1", "first"), "chat")
    loader.request(("t1", "second"), "chat")  # the cursor moved on before anything was read
    runner = threading.Thread(target=loader.run, daemon=True)
    runner.start()
    try:
        failed = events.get(timeout=10)
        assert failed.key == ("t1", "second") and failed.messages == ()
        assert failed.error is not None and "does not exist" in failed.error

        with open_saver(db) as saver:  # an agent creates the DB meanwhile
            graph = _graph(saver)
            for tid in ("t1", "t2"):
                graph.invoke({"history": [HumanMessage(content=f"hi {tid}")]}, cfg(tid, "chat"))
        reader = CheckpointReader(db, CONFIG)
        listed = {t.thread_id: t for t in reader.read_all().threads}
        reader.close()
        for tid in ("t1", "t2"):
            loader.request((tid, listed[tid].checkpoint_id), "chat")
            read = events.get(timeout=10)
            assert read.error is None and read.messages[0] == ("human", f"hi {tid}")
        assert events.empty() and len(opened) == 1  # "first" was never read; both reads on one connection

        loader.request(("t1", "1f000000-0000-6000-8000-000000000000"), "chat")
        gone = events.get(timeout=10)  # tried again on a fresh connection before saying so
        assert gone.error == NOT_THERE and len(opened) == 2 and closed(opened[0])

        copy = tmp_path / "copy.db"
        source, target = sqlite3.connect(db), sqlite3.connect(copy)
        source.backup(target)  # through SQLite: an open() of a DB this process holds would drop its locks
        source.close()
        target.close()
        db.unlink()
        copy.rename(db)  # another file at the same path (a restored backup)
        loader.request(("t1", listed["t1"].checkpoint_id), "chat")
        assert events.get(timeout=10).messages[0] == ("human", "hi t1")
        assert len(opened) == 3 and closed(opened[1])  # the old file's connection was closed first

        loader.forget()  # what the app does when the watcher finds the DB gone: no read runs, so at once
        assert closed(opened[2])
    finally:
        loader.stop()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_forget_never_waits_for_a_read_in_progress_and_drops_the_connection_after_it(tmp_path: Path) -> None:
    """The UI thread calls forget when the DB has a problem, which is when a read may hang for seconds."""
    import queue
    import threading
    import time

    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.console.context_loader import ContextLoader, ContextRead

    db = tmp_path / "checkpoints.db"
    with open_saver(db) as saver:
        _graph(saver).invoke({"history": [HumanMessage(content="hi")]}, cfg("t1", "chat"))
    entered, release = threading.Event(), threading.Event()

    class StuckRead(CheckpointReader):  # the real reader, held inside its read until the test lets go
        def context(self, thread_id: str, checkpoint_id: str, graph_id: str | None) -> tuple[Any, ...] | None:
            entered.set()
            release.wait(10)
            return super().context(thread_id, checkpoint_id, graph_id)

    sources: list[StuckRead] = []
    events: queue.Queue[ContextRead] = queue.Queue()
    loader = ContextLoader(lambda: sources.append(StuckRead(db, CONFIG)) or sources[-1], events.put)
    runner = threading.Thread(target=loader.run, daemon=True)
    runner.start()
    try:
        reader = CheckpointReader(db, CONFIG)
        listed = reader.read_all().threads[0]
        reader.close()
        loader.request(("t1", listed.checkpoint_id), "chat")
        assert entered.wait(10)
        started = time.monotonic()
        loader.forget()
        assert time.monotonic() - started < 0.5  # it did not wait for the read
        release.set()
        assert events.get(timeout=10).messages[0] == ("human", "hi")  # the read in progress still answers
        runner_done = time.monotonic() + 5
        while sources[0]._conn is not None and time.monotonic() < runner_done:
            try:
                sources[0]._conn.execute("SELECT 1")
            except sqlite3.ProgrammingError:
                break  # closed right after that read
            time.sleep(0.01)
        else:
            raise AssertionError("the connection was kept after forget")
    finally:
        release.set()
        loader.stop()
        runner.join(timeout=10)
