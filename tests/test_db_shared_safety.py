"""We never damage the agents' DB: a console's long-lived connections stay safe while other processes work on it.

The bug this guards against: the console opened the DB file with Python's open() to check its header. Closing that
descriptor dropped every POSIX lock the console's connections held, so the next process to close its own connection
believed it was the last one, checkpointed and deleted the WAL while the console still wrote to it (data loss, and
once a file that was no longer a database). Here the test process holds the same connections a console holds (a
DecisionDesk and a polling CheckpointReader) while real processes start agents, approve from the command line (each
one opening and closing the DB) and run a worker. Throughout, the WAL must stay the same file; at the end the DB
passes `PRAGMA integrity_check`, every decision is in the DB and the audit log once, every effect ran once, and the
console kept deciding. tests/guard/ (loaded by conftest) makes any Python-level open of a connected DB file fail.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers_decisions import (
    CRASHY,
    GRAPH_FILE,
    Env,
    approve,
    check_audit_matches_ledger,
    effects_per_thread,
    ledger_rows,
)

from hitl_tui.checkpoints.reader import CheckpointReader

_AGENT = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from langgraph.checkpoint.sqlite import SqliteSaver
    from hitl_tui.demo.kit import run_config
    import decisions_graph
    with SqliteSaver.from_conn_string(sys.argv[1]) as saver:
        graph = decisions_graph.build_graph(saver)
        for i in range(int(sys.argv[2])):
            tid = f"late-{i:03d}"
            graph.invoke({"request": f"box {tid}"}, run_config("crashy", tid))
            print(tid, flush=True)
""")


def _hitl(env: Env, *args: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("hitl-tui")
    return subprocess.Popen([str(exe), args[0], "--config", str(env.config_path), *args[1:]], cwd=env.directory,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wal_identity(db: Path) -> tuple[int, int]:
    st = os.stat(f"{db}-wal")  # stat, never open: opening a connected DB's file is the very bug
    return st.st_dev, st.st_ino


def _deleted_db_files_held() -> list[str]:
    """Files of this process's open descriptors that were deleted under it (the WAL, when the bug strikes)."""
    fd_dir = Path("/proc/self/fd")
    targets = []
    for fd in fd_dir.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return [t for t in targets if t.endswith(" (deleted)") and ".db" in t]


def test_console_connections_survive_other_processes_deciding_resuming_and_running_agents(env: Env) -> None:
    by_cli = env.start(CRASHY, 10, prefix="cli")
    by_console = env.start(CRASHY, 10, prefix="console")
    env.close()  # the demo's saver was the last connection: SQLite folds the WAL back and deletes it
    assert not Path(f"{env.db}-wal").exists()  # so the console starts as the steps have it: no WAL yet
    # The console's own connections, in the order it opens them: its list's reader first, then the desk (ledger,
    # relaxed ledger, the ledger's reader, the resumer's reader and saver).
    reader = CheckpointReader(env.db, env.config)
    reader.read_all()
    desk = env.desk("console-operator")
    try:
        wal = _wal_identity(env.db)
        agents = subprocess.Popen([sys.executable, "-c", _AGENT, str(env.db), "15", str(GRAPH_FILE.parent)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        approvals = [_hitl(env, "approve", tid) for tid in by_cli[:5]]  # five processes at once
        decided_here = []
        for tid in by_console:
            thread = env.paused(tid)
            result = desk.decide(thread, thread.interrupts[0], [approve()])
            assert result.records and result.records[0].state.value == "finished", result
            decided_here.append(tid)
            reader.read_all()
            assert _wal_identity(env.db) == wal, "the WAL was deleted or replaced under the console"
            if len(decided_here) == 5:
                approvals += [_hitl(env, "approve", tid) for tid in by_cli[5:]]
        for proc in approvals:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, (out, err)
        out, err = agents.communicate(timeout=180)
        assert agents.returncode == 0, err
        late = out.split()
        assert len(late) == 15
        worker = _hitl(env, "worker", "--once")  # finds nothing left to resume, but opens and closes the DB
        assert worker.communicate(timeout=120)[0].startswith("resumed: none")
        # Other processes have all closed their connections now; the console's are still open, and must still
        # own a live WAL: the console keeps deciding, and the agents' new pauses are visible to it.
        assert _wal_identity(env.db) == wal and _deleted_db_files_held() == []
        seen = {t.thread_id for t in reader.read_all().threads if t.interrupts}
        assert set(late) <= seen
        for tid in late:
            thread = env.paused(tid)
            assert desk.decide(thread, thread.interrupts[0], [approve()]).records[0].state.value == "finished"
        assert _wal_identity(env.db) == wal and _deleted_db_files_held() == []
    finally:
        reader.close()
        desk.close()
    with sqlite3.connect(env.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = ledger_rows(env.db)
    everyone = by_cli + by_console + late
    assert sorted(r["thread_id"] for r in rows) == sorted(everyone)
    assert {r["state"] for r in rows} == {"finished"}
    assert effects_per_thread(env.outbox_lines()) == dict.fromkeys(everyone, 1)
    check_audit_matches_ledger(env)


def test_the_guard_stops_an_open_of_a_connected_db_in_a_child_process(tmp_path: Path) -> None:
    """The guard is on in every Python the tests start (it came from PYTHONPATH), and catches the WAL too."""
    db = tmp_path / "x.db"
    code = textwrap.dedent(f"""
        import sqlite3
        conn = sqlite3.connect({str(db)!r})
        conn.execute("PRAGMA journal_mode=WAL"); conn.execute("CREATE TABLE t (x)")
        for name in ({str(db)!r}, {str(db) + "-wal"!r}):
            try:
                open(name, "rb")
            except RuntimeError as err:
                print("refused", type(err).__name__)
        conn.close()
        open({str(db)!r}, "rb").close()
        print("open after close")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["refused HeldDatabaseOpened", "refused HeldDatabaseOpened", "open after close"]


def test_the_old_header_check_would_be_caught_in_this_process(tmp_path: Path) -> None:
    """What db.check_not_truncated used to do (open() the DB to read its header) now fails loudly in tests."""
    import pytest

    db = tmp_path / "x.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    try:
        with pytest.raises(RuntimeError, match="outside SQLite"), open(db, "rb"):
            pass
    finally:
        conn.close()
    with open(db, "rb") as fh:
        assert fh.read(16) == b"SQLite format 3\x00"
