"""The Postgres store beyond conformance: polls cost nothing when nothing changed, see what did, and never write."""

from __future__ import annotations

import psycopg
import pytest
from langgraph.types import Command
from reader_graphs import SHAPES, cfg, open_pg_saver

from hitl_tui.checkpoints.postgres.store import PostgresStore
from hitl_tui.checkpoints.store_reader import StoreReader
from hitl_tui.errors import CheckpointDBError


def test_poll_sees_only_what_changed(pg_dsn: str) -> None:
    with open_pg_saver(pg_dsn) as saver:
        graph = SHAPES["root"].compile(saver)
        for tid in ("a", "b"):
            graph.invoke(SHAPES["root"].start, cfg(tid, "root"))
        reader = StoreReader(PostgresStore(pg_dsn))
        try:
            assert {t.thread_id for t in reader.read_all().threads} == {"a", "b"}
            assert reader.poll() is None  # nobody committed
            (item,) = reader.thread("a").interrupts
            graph.invoke(Command(resume={item.interrupt_id: "again"}), cfg("a", "root"))
            change = reader.poll()
            assert change is not None and change.changed == {"a"} and not change.full
            assert reader.poll() is None
            (item,) = reader.thread("a").interrupts
            graph.invoke(Command(resume={item.interrupt_id: "ok"}), cfg("a", "root"))
            change = reader.poll()
            assert change is not None and change.changed == {"a"}
            assert [t.thread_id for t in change.threads] == ["b"]
        finally:
            reader.close()


def test_the_session_cannot_write(pg_dsn: str) -> None:
    with open_pg_saver(pg_dsn):
        pass
    store = PostgresStore(pg_dsn)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            store._conn.execute("DELETE FROM checkpoints")
    finally:
        store.close()


def test_not_a_langgraph_database_is_one_sentence(pg_dsn: str) -> None:
    with pytest.raises(CheckpointDBError, match="not a LangGraph checkpoint database"):
        PostgresStore(pg_dsn)


def test_unreachable_server_is_one_sentence_without_the_password() -> None:
    with pytest.raises(CheckpointDBError) as err:
        PostgresStore("postgresql://someone:secret@127.0.0.1:1/nothing?connect_timeout=2")
    assert "secret" not in str(err.value) and "could not be read" in str(err.value)
