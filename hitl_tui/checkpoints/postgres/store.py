"""`PostgresStore`: LangGraph's Postgres checkpoint tables, read-only, as a `CheckpointStore`.

The session is read-only (`default_transaction_read_only`), so nothing we run can alter LangGraph's tables; a
read is one REPEATABLE READ transaction, so rows, writes and marks all come from the same snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

import psycopg

from hitl_tui.checkpoints.classify import CheckpointRow, WriteRow
from hitl_tui.checkpoints.decode import DecodeError, decode_metadata, decode_typed
from hitl_tui.checkpoints.postgres import sql
from hitl_tui.checkpoints.store import Marks
from hitl_tui.db_target import redact
from hitl_tui.errors import CheckpointDBError

BATCH = 500  # threads classified per round of blob/write queries: bounds memory, keeps the arrays small


def _explain(dsn: str, err: psycopg.Error) -> CheckpointDBError:
    return CheckpointDBError(f"{redact(dsn)} could not be read: {str(err).strip().splitlines()[0]}.")


class PostgresStore:
    """One read-only connection to a LangGraph Postgres checkpoint database."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        try:
            # Read-only for the whole session; no JIT: Postgres would compile the cold read's query for ~0.5 s,
            # more than compiling saves on it.
            self._conn = psycopg.connect(
                dsn, autocommit=True, options="-c default_transaction_read_only=on -c jit=off", connect_timeout=10
            )
        except psycopg.Error as err:
            raise _explain(dsn, err) from None
        self._check_schema()

    def close(self) -> None:
        self._conn.close()

    @property
    def connection(self) -> psycopg.Connection:
        """The session, for read-only helpers (postgres/thread_reader.py)."""
        return self._conn

    def _check_schema(self) -> None:
        found = {r[0] for r in self._conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name = ANY(%s) "
            "AND table_schema = ANY(current_schemas(false))", (list(sql.REQUIRED_TABLES),),
        )}
        missing = [t for t in sql.REQUIRED_TABLES if t not in found]
        if missing:
            self.close()
            raise CheckpointDBError(
                f"{redact(self.dsn)} is not a LangGraph checkpoint database (it has no {missing[0]!r} table)."
            )

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            yield  # part of the read already open
            return
        try:
            self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except psycopg.Error as err:
            raise _explain(self.dsn, err) from None
        try:
            yield
        except psycopg.Error as err:
            raise _explain(self.dsn, err) from None
        finally:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("ROLLBACK")  # read-only: nothing to commit

    # -- latest checkpoints -------------------------------------------------------------------------------------

    def latest_ids(self) -> dict[str, str]:
        return dict(self._conn.execute(sql.LATEST_IDS.format(where="")).fetchall())

    def latest_rows(self, thread_ids: Collection[str] | None = None) -> Iterator[list[CheckpointRow]]:
        with self.snapshot():
            params: tuple[Any, ...] = ()
            if thread_ids is None:
                query = sql.LATEST_ROWS.format(where="")
            else:
                query, params = sql.LATEST_ROWS.format(where="AND thread_id = ANY(%s) "), (list(thread_ids),)
            # A server-side cursor: the rows of a big DB arrive a batch at a time, not all at once. A few named
            # threads (a decision's re-read) come in one round trip instead: a named cursor costs three.
            named = thread_ids is None or len(thread_ids) > BATCH
            with self._conn.cursor(name="hitl_latest") if named else self._conn.cursor() as cur:
                cur.execute(query, params)
                while rows := cur.fetchmany(BATCH):
                    yield self._complete([CheckpointRow(tid, cid, parent, None, None, meta, decode=None)
                                          for tid, cid, parent, _, meta in rows],
                                         {r[0]: r[3] for r in rows})

    def _complete(self, rows: list[CheckpointRow], checkpoints: dict[str, Any]) -> list[CheckpointRow]:
        """Attach each row's blobs (as a decode function) and the writes keyed to it."""
        tids, cids = [r.thread_id for r in rows], [r.checkpoint_id for r in rows]
        blobs: dict[str, list[tuple[str, str, bytes | None]]] = {}
        for tid, channel, typ, blob in self._conn.execute(sql.BLOBS_AT, (tids, cids, "")):
            blobs.setdefault(tid, []).append((channel, typ, blob))
        by_thread = {r.thread_id: r for r in rows}
        for tid, task_id, path, idx, channel, typ, value in self._conn.execute(sql.WRITES_AT, (tids, cids)):
            by_thread[tid].writes.append(WriteRow(task_id, path, idx, channel, typ, value))
        for row in rows:
            row.decode = _decoder(checkpoints[row.thread_id], blobs.get(row.thread_id, []))
        return rows

    def marks(self, thread_ids: Collection[str]) -> dict[str, Marks]:
        if not thread_ids:
            return {}
        return {
            tid: (int(c), int(n), int(x))
            for tid, c, n, x in self._conn.execute(sql.MARKS, (list(thread_ids),))
        }

    # -- one thread's rows -----------------------------------------------------------------------------------------

    def writes_at(self, thread_id: str, ns: str, checkpoint_id: str) -> Iterable[tuple[str, str]]:
        return self._conn.execute(sql.TASK_WRITES, (thread_id, ns, checkpoint_id)).fetchall()

    def checkpoint_at(self, thread_id: str, ns: str, checkpoint_id: str) -> Mapping[str, Any] | None:
        found = self._conn.execute(sql.CHECKPOINT_AT, (thread_id, ns, checkpoint_id)).fetchone()
        if found is None:
            return None
        blobs = [
            (channel, typ, blob)
            for _, channel, typ, blob in self._conn.execute(sql.BLOBS_AT, ([thread_id], [checkpoint_id], ns))
        ]
        try:
            return _decoder(found[0], blobs)()
        except DecodeError:
            return None

    def interrupt_rows(
        self, thread_id: str, parent_ns: str
    ) -> Iterable[tuple[str, str, str, str | None, bytes | None]]:
        return self._conn.execute(sql.INTERRUPT_ROWS, (thread_id, parent_ns)).fetchall()

    def change_token(self) -> str:
        try:
            return str(self._conn.execute(sql.CHANGE_TOKEN).fetchone()[0])  # type: ignore[index]
        except psycopg.Error as err:
            raise _explain(self.dsn, err) from None

    def run_metadata(self, thread_id: str) -> dict[str, Any]:
        """The metadata of a thread's latest root checkpoint ({} when there is none or it doesn't decode)."""
        row = self._conn.execute(
            "SELECT metadata::text FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = '' "
            "ORDER BY checkpoint_id DESC LIMIT 1", (thread_id,),
        ).fetchone()
        try:
            return decode_metadata(row[0]) if row else {}
        except DecodeError:
            return {}


def _decoder(checkpoint: Any, blobs: list[tuple[str, str, bytes | None]]) -> Any:
    """The checkpoint as LangGraph's PostgresSaver loads it: inline values, then the blobs at their versions."""

    def decode() -> Mapping[str, Any]:
        if not isinstance(checkpoint, Mapping):
            raise DecodeError("checkpoint is not a JSON object")
        values = dict(checkpoint.get("channel_values") or {})
        for channel, typ, blob in blobs:
            if typ != "empty":
                values[channel] = decode_typed(typ, blob)
        return {**checkpoint, "channel_values": values}

    return decode
