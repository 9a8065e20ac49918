"""The one place that turns a `--db` target into its backend's objects: SQLite file or Postgres URL.

Everything above (desk, resumer, worker, timeouts, CLI) asks here and stays backend-blind. Postgres modules are
imported only for a Postgres URL, so SQLite users need neither psycopg nor the `postgres` extra.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Union

from hitl_tui.config import Config
from hitl_tui.db_target import DbTarget, is_postgres
from hitl_tui.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from hitl_tui.checkpoints.postgres.thread_reader import PostgresThreadReader
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.decisions.ledger import DecisionLedger
    from hitl_tui.decisions.postgres.ledger import PostgresLedger

Ledger = Union["DecisionLedger", "PostgresLedger"]
ThreadReader = Union["CheckpointReader", "PostgresThreadReader"]


def _need_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ConfigError("A postgresql:// database needs the Postgres extra: pip install 'hitl-tui[postgres]'.")\
            from None


def open_ledger(db: DbTarget, config: Config, *, clock: Callable[[], datetime] | None = None) -> Ledger:
    """The decision ledger in that database."""
    if is_postgres(db):
        _need_psycopg()
        from hitl_tui.decisions.postgres.ledger import PostgresLedger

        return PostgresLedger(str(db), config, clock=clock)
    from pathlib import Path

    from hitl_tui.decisions.ledger import DecisionLedger

    return DecisionLedger(Path(db), config, clock=clock)


def open_thread_reader(db: DbTarget, config: Config) -> ThreadReader:
    """A reader of paused threads with the resumer's checks (thread, poll, marks, saved_since, run_metadata)."""
    if is_postgres(db):
        _need_psycopg()
        from hitl_tui.checkpoints.postgres.thread_reader import PostgresThreadReader

        return PostgresThreadReader(str(db), config)
    from pathlib import Path

    from hitl_tui.checkpoints.reader import CheckpointReader

    return CheckpointReader(Path(db), config)


def open_saver(db: DbTarget) -> Any:
    """LangGraph's own checkpointer on that database, for resuming graphs (SqliteSaver or PostgresSaver)."""
    if is_postgres(db):
        _need_psycopg()
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        from hitl_tui.decisions.postgres.ledger_db import explain

        try:
            # PostgresSaver's own settings for a connection it is handed (autocommit, no prepared statements).
            conn = psycopg.connect(str(db), autocommit=True, prepare_threshold=0, row_factory=dict_row,  # type: ignore[arg-type]
                                   connect_timeout=10)
        except psycopg.Error as err:
            raise explain(str(db), err) from None
        return PostgresSaver(conn)
    from langgraph.checkpoint.sqlite import SqliteSaver

    lite = sqlite3.connect(str(db), check_same_thread=False, timeout=30)
    lite.execute("PRAGMA busy_timeout = 30000")
    return SqliteSaver(lite)


def thread_exists(db: DbTarget, thread_id: str) -> bool:
    """True when LangGraph has any checkpoint of that thread (to tell "no such thread" from "not waiting")."""
    if is_postgres(db):
        _need_psycopg()
        from hitl_tui.checkpoints.postgres.store import PostgresStore

        store = PostgresStore(str(db))
        try:
            return store.connection.execute(
                "SELECT 1 FROM checkpoints WHERE thread_id = %s LIMIT 1", (thread_id,)).fetchone() is not None
        finally:
            store.close()
    from pathlib import Path

    from hitl_tui.db import connect

    conn = connect(Path(db), readonly=True)
    try:
        found = conn.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (thread_id,)).fetchone()
        return found is not None
    finally:
        conn.close()
