"""An observer who may read the DB but not write its folder can still list it (issue 8.5).

A WAL database needs its -wal/-shm side files; such a user can't create them. With an agent connected they exist
and SQLite reads through them; with nobody connected they don't, and hitl-tui opens the settled file as immutable.
Root ignores file permissions, so the observer runs as `nobody` (setpriv), as a real second user would.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from reader_graphs import SHAPES, cfg, open_saver

NOBODY = 65534


def _as_nobody(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run a command as another user"
    env = {k: v for k, v in os.environ.items() if k not in ("HITL_TUI_CONFIG", "HOME")}
    return subprocess.run([setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd, env={**env, "HOME": str(cwd)})


@pytest.fixture
def observer_ok(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user (setpriv)")
    probe = _as_nobody(sys.executable, "-c", "import hitl_tui", cwd=tmp_path)
    if probe.returncode != 0:
        pytest.skip(f"user nobody can't run this checkout's Python here: {probe.stderr.strip()[-200:]}")


@pytest.fixture
def shared_db(observer_ok: None) -> Iterator[Path]:
    # Not under tmp_path: pytest's base temp folder is private to root, and the observer must reach the DB.
    top = Path(tempfile.mkdtemp(prefix="hitl-observer-"))
    top.chmod(0o755)
    folder = top / "agents"
    folder.mkdir()
    db = folder / "checkpoints.db"
    with open_saver(db) as saver:
        graph = SHAPES["parallel"].compile(saver)
        for i in range(3):
            graph.invoke(SHAPES["parallel"].start, cfg(f"t{i}", "parallel"))
    folder.chmod(0o755)  # readable by everyone, writable by its owner only
    db.chmod(0o644)
    yield db
    shutil.rmtree(top, ignore_errors=True)


def _list(db: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("hitl-tui")
    return _as_nobody(str(exe), "list", "--db", str(db), "--json", cwd=db.parent.parent)


def test_listing_with_no_agent_connected_reads_the_settled_file(shared_db: Path) -> None:
    assert not Path(f"{shared_db}-wal").exists()
    out = _list(shared_db)
    assert out.returncode == 0, out.stderr
    assert len({t["thread_id"] for t in json.loads(out.stdout)}) == 3
    assert sorted(p.name for p in shared_db.parent.iterdir()) == ["checkpoints.db"]  # nothing created beside it


def test_listing_while_an_agent_holds_the_db_reads_through_its_wal(shared_db: Path) -> None:
    holder = sqlite3.connect(shared_db)
    try:
        holder.execute("SELECT COUNT(*) FROM checkpoints").fetchone()  # creates -wal and -shm, as an agent does
        Path(f"{shared_db}-shm").chmod(0o644)
        with open_saver(shared_db) as saver:  # a new pause lands in the WAL while the observer looks
            SHAPES["parallel"].compile(saver).invoke(SHAPES["parallel"].start, cfg("t-new", "parallel"))
        out = _list(shared_db)
        assert out.returncode == 0, out.stderr
        threads = {t["thread_id"] for t in json.loads(out.stdout)}
        assert threads == {"t0", "t1", "t2", "t-new"}
    finally:
        holder.close()
