"""Opening the shared checkpoint DB, and telling the user in one sentence when it is not what we expect."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path

from hitl_tui.errors import CheckpointDBError

REQUIRED_COLUMNS = {
    "checkpoints": {
        "thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id", "type", "checkpoint", "metadata",
    },
    "writes": {
        "thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "task_path", "idx", "channel", "type", "value",
    },
}
BUSY_TIMEOUT_MS = 2000


def explain_sqlite_error(path: Path, err: sqlite3.Error) -> CheckpointDBError:
    """Turn an sqlite3 error into one sentence that names the file and what to do."""
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return CheckpointDBError(f"{path} is locked by another process; try again when its writer has finished.")
    if "not a database" in text:
        return CheckpointDBError(f"{path} is not a SQLite database.")
    if "malformed" in text or "corrupt" in text:
        return CheckpointDBError(f"{path} is damaged (SQLite says the database disk image is malformed).")
    if "unable to open" in text:
        return CheckpointDBError(f"{path} cannot be opened; check that it exists and that you may read it.")
    if "readonly" in text or "read-only" in text:
        return CheckpointDBError(f"{path} is read-only, and this action needs to write to it.")
    return CheckpointDBError(f"{path} could not be read: {err}.")


def check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Raise unless the DB has LangGraph's checkpoints and writes tables with the columns we read."""
    for table, needed in REQUIRED_COLUMNS.items():
        cols = {row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}
        if not cols:
            raise CheckpointDBError(
                f"{path} is a SQLite database but not a LangGraph checkpoint DB (it has no {table!r} table)."
            )
        missing = sorted(needed - cols)
        if missing:
            raise CheckpointDBError(
                f"{path} has a {table!r} table of an unknown schema (missing column {missing[0]!r})."
            )


def check_not_truncated(conn: sqlite3.Connection, path: Path) -> None:
    """Raise when the file is shorter than its own header says (a cut copy): SQLite refuses a file missing whole
    pages, but one whose last page is cut short it reads as zeros, only noticed when a query touches that page.

    SQLite reads the header for us (`page_count` is the in-header size when valid); we only stat() the files.
    Never open() them: closing any descriptor of the DB drops every POSIX lock this process holds on it, and
    another process then believes it is the last connection and deletes the WAL under our open connections."""
    try:
        wal = os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        wal = 0
    if wal > 0:
        return  # pages may live in the WAL, and SQLite checks those frames itself
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    if pages * page_size > os.stat(path).st_size:
        raise CheckpointDBError(f"{path} is damaged (it is shorter than its header says: truncated).")


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """Open the checkpoint DB (autocommit mode, so transactions are explicit) and check it is a LangGraph DB."""
    if not path.exists():
        raise CheckpointDBError(f"{path} does not exist; start an agent that writes to it, or run `hitl-tui demo`.")
    if path.is_dir():
        raise CheckpointDBError(f"{path} is a folder, not a checkpoint DB file.")
    if path.stat().st_size == 0:
        raise CheckpointDBError(f"{path} is empty; no LangGraph agent has written to it yet.")
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}" + ("?mode=ro" if readonly else "")
    try:
        return _open(uri, path, readonly=readonly)
    except CheckpointDBError as err:
        if not (readonly and _needs_immutable(path, err)):
            raise
    # A user who may read the DB but not write its folder can't create the -wal/-shm files a WAL database needs
    # for locking. When no agent has the DB open there are none, and the file alone is the whole, settled DB:
    # read it as immutable (no locks, no side files). The README notes what this costs: such an observer sees
    # changes only when it opens the DB again (`list` does every run; the console on each reopen).
    return _open(uri + "&immutable=1", path, readonly=True)


def _needs_immutable(path: Path, err: CheckpointDBError) -> bool:
    """The read-only open failed only because SQLite could not create the WAL's side files beside the DB."""
    text = err.message
    cannot_write_beside = "read-only" in text or "cannot be opened" in text
    return cannot_write_beside and not os.access(path.parent, os.W_OK) and not os.path.exists(f"{path}-wal")


def _open(uri: str, path: Path, *, readonly: bool) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error as err:
        raise explain_sqlite_error(path, err) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if readonly:
            conn.execute("PRAGMA query_only = 1")
        check_schema(conn, path)
        check_not_truncated(conn, path)
    except BaseException as err:
        conn.close()
        if isinstance(err, sqlite3.Error):
            raise explain_sqlite_error(path, err) from None
        if isinstance(err, OSError):
            raise CheckpointDBError(f"{path} cannot be read: {err.strerror}.") from None
        raise
    return conn
