"""Bad input gets one clear sentence (exit code 2 from the CLI), never a traceback; one bad row only marks its thread.

Files: missing, empty, a folder, not SQLite, SQLite but not LangGraph, an unknown schema, truncated, corrupt,
locked by another process (rollback journal: error after the busy timeout; WAL: readers still work).
Rows: a checkpoint blob that is not msgpack, a pickled one, metadata that is not JSON, an interrupt value that
does not decode, an unknown encoding: that thread is UNREADABLE, the others list as usual.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from reader_graphs import SHAPES, cfg, open_saver

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.db import BUSY_TIMEOUT_MS
from hitl_tui.errors import CheckpointDBError
from hitl_tui.model import ThreadStatus


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HITL_TUI_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "hitl_tui", *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def assert_one_sentence(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hitl-tui: ") and lines[0].endswith("."), out.stderr
    for word in words:
        assert word in lines[0], lines[0]


def make_db(path: Path, threads: int = 12) -> None:
    """A real checkpoint DB with paused threads; closed, so the file alone holds everything."""
    with open_saver(path) as saver:
        graph = SHAPES["parallel"].compile(saver)
        for i in range(threads):
            graph.invoke(SHAPES["parallel"].start, cfg(f"t{i:02d}", "parallel"))
    assert not Path(f"{path}-wal").exists()


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "good.db"
    make_db(path, threads=40)
    return path.read_bytes()


# -- files -------------------------------------------------------------------------------------------------------


def _not_sqlite(p: Path) -> None:
    p.write_text("thread_id,checkpoint\nabc,def\n" * 100)


def _other_sqlite(p: Path) -> None:
    with sqlite3.connect(p) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")


def _unknown_schema(p: Path) -> None:
    with sqlite3.connect(p) as conn:
        conn.execute("CREATE TABLE checkpoints (thread_id TEXT, checkpoint BLOB)")
        conn.execute("CREATE TABLE writes (thread_id TEXT)")


BAD_FILES = {
    "missing": (lambda p: None, "does not exist"),
    "empty": (lambda p: p.write_bytes(b""), "is empty"),
    "folder": (lambda p: p.mkdir(), "is a folder"),
    "not_sqlite": (_not_sqlite, "is not a SQLite database"),
    "other_sqlite": (_other_sqlite, "not a LangGraph checkpoint DB"),
    "unknown_schema": (_unknown_schema, "unknown schema"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files(tmp_path: Path, case: str) -> None:
    make, words = BAD_FILES[case]
    path = tmp_path / "cp #1.db"  # a space and a '#' must not confuse the SQLite URI
    make(path)
    with pytest.raises(CheckpointDBError) as err:
        CheckpointReader(path).read_all()
    assert words in err.value.message and str(path) in err.value.message
    assert_one_sentence(run_cli("list", "--db", str(path), cwd=tmp_path), words)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file(tmp_path: Path, good_db: bytes, fraction: float) -> None:
    path = tmp_path / "truncated.db"
    path.write_bytes(good_db[: int(len(good_db) * fraction)])
    with pytest.raises(CheckpointDBError) as err:
        CheckpointReader(path).read_all()
    assert "damaged" in err.value.message
    assert_one_sentence(run_cli("list", "--db", str(path), cwd=tmp_path), "damaged")


@pytest.mark.parametrize("seed", range(4))
def test_corrupt_pages(tmp_path: Path, good_db: bytes, seed: int) -> None:
    rng = random.Random(seed)
    data = bytearray(good_db)
    for _ in range(5):
        at = rng.randrange(4096, len(data) - 512)
        data[at : at + 512] = rng.randbytes(512)
    path = tmp_path / "corrupt.db"
    path.write_bytes(bytes(data))
    out = run_cli("list", "--db", str(path), cwd=tmp_path)
    assert_one_sentence(out, "damaged")


# -- locks -------------------------------------------------------------------------------------------------------

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel) "
             "VALUES ('lock', '', 'x', 'y', 0, 'z')")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
conn.execute("ROLLBACK")
"""


class LockHolder:
    """Another process holding `BEGIN EXCLUSIVE` on the DB until released."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0


def test_rollback_journal_db_locked_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    make_db(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    early = CheckpointReader(path)  # opened before the lock: its polls fail cleanly, then recover
    assert len(early.read_all().threads) == 12
    holder = LockHolder(path)
    try:
        with pytest.raises(CheckpointDBError) as err:
            CheckpointReader(path)
        assert "locked by another process" in err.value.message
        with pytest.raises(CheckpointDBError) as err:
            early.poll()
        assert "locked by another process" in err.value.message
        out = run_cli("list", "--db", str(path), cwd=tmp_path)
        assert_one_sentence(out, "locked by another process")
    finally:
        holder.release()
    assert early.poll() is None  # the writer rolled back: nothing changed, and the reader works again
    assert len(CheckpointReader(path).read_all().threads) == 12


def test_wal_db_readers_work_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    make_db(path)
    reader = CheckpointReader(path)
    reader.read_all()
    holder = LockHolder(path)
    try:
        assert len(CheckpointReader(path).read_all().threads) == 12
        assert reader.poll() is None
        out = run_cli("list", "--db", str(path), "--json", cwd=tmp_path)
        assert out.returncode == 0 and out.stderr == ""
    finally:
        holder.release()


def test_busy_timeout_is_shorter_than_a_held_lock() -> None:
    # The lock tests hold the lock until told to let go; the reader gives up after its busy timeout.
    assert BUSY_TIMEOUT_MS <= 5000


# -- rows --------------------------------------------------------------------------------------------------------

BAD_ROWS = {
    "t00": ("UPDATE checkpoints SET checkpoint = X'C1C1C1' WHERE thread_id = ? AND checkpoint_id = ?", "msgpack"),
    "t01": ("UPDATE checkpoints SET type = 'pickle' WHERE thread_id = ? AND checkpoint_id = ?", "pickled"),
    "t02": ("UPDATE checkpoints SET metadata = X'7B6E6F74206A736F6E' WHERE thread_id = ? AND checkpoint_id = ?",
            "metadata is not JSON"),
    "t03": ("UPDATE writes SET value = X'DEADBEEF' WHERE channel = '__interrupt__' AND thread_id = ? "
            "AND checkpoint_id = ?", "msgpack"),
    "t04": ("UPDATE checkpoints SET type = 'x-unknown' WHERE thread_id = ? AND checkpoint_id = ?", "encoding"),
    "t05": ("UPDATE checkpoints SET checkpoint = X'93010203' WHERE thread_id = ? AND checkpoint_id = ?", "not a map"),
}


def _spoil_rows(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for tid, (sql, _) in BAD_ROWS.items():
            cid = conn.execute(
                "SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''", (tid,)
            ).fetchone()[0]
            assert conn.execute(sql, (tid, cid)).rowcount >= 1


def test_rows_that_do_not_decode_mark_only_their_thread(tmp_path: Path) -> None:
    path = tmp_path / "rows.db"
    make_db(path)
    _spoil_rows(path)
    threads = {t.thread_id: t for t in CheckpointReader(path).read_all().threads}
    assert len(threads) == 12
    for tid, (_, why) in BAD_ROWS.items():
        assert threads[tid].status is ThreadStatus.UNREADABLE and why in (threads[tid].error or ""), threads[tid]
    good = [t for tid, t in threads.items() if tid not in BAD_ROWS]
    assert len(good) == 6 and all(t.status is ThreadStatus.PAUSED and len(t.interrupts) == 2 for t in good)
    assert threads["t02"].graph_id is None and threads["t01"].graph_id == "parallel"  # metadata still read
    out = run_cli("list", "--db", str(path), cwd=tmp_path)
    assert out.returncode == 0 and "Traceback" not in out.stderr
    for tid in threads:
        assert tid in out.stdout
    statuses = [line.split()[2] for line in out.stdout.splitlines() if line.startswith("t")]
    assert statuses.count("unreadable") == len(BAD_ROWS) and statuses.count("paused") == 12


def test_a_pickled_value_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "pickle.db"
    make_db(path, threads=1)
    marker = tmp_path / "pwned"
    # A pickle that would create a file if anything ever unpickled it.
    import pickle

    class Boom:
        def __reduce__(self) -> Any:
            return (open, (str(marker), "w"))

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE writes SET type = 'pickle', value = ? WHERE channel = '__interrupt__'",
                     (pickle.dumps(Boom()),))
    (found,) = CheckpointReader(path).read_all().threads
    assert found.status is ThreadStatus.UNREADABLE and "pickled" in (found.error or "")
    assert not marker.exists()
