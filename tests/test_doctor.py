"""`hitl-tui doctor` for an operator who is not root (uid 65534 through setpriv: root passes every permission
check), on a team folder set up as the README says, then broken one way at a time. A real decision by that
operator proves the setup it approves of works, and leaves files the rest of the group can write."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_decisions import CRASHY, make_env

NOBODY = 65534  # uid nobody, gid nogroup: the "team" group here
# The operator runs hitl-tui on the system Python with this checkout's packages: the dev venv's own interpreter
# may live where only root can reach it (the very trap the README's team section warns about).
SYSTEM_PYTHON = Path("/usr/bin/python3")
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
CHECKOUT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("setpriv") is None or not SYSTEM_PYTHON.exists(),
    reason="needs root to set up files, setpriv to act as another user, and a system Python",
)


@pytest.fixture
def team() -> Iterator[tuple[Path, str]]:
    """A folder shared by group nogroup: setgid, group-writable, with a paused thread; (folder, thread id)."""
    probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            str(SYSTEM_PYTHON), "-c", "import hitl_tui"], capture_output=True, text=True, timeout=60,
                           cwd="/", env={"PATH": os.environ["PATH"], "PYTHONPATH": f"{SITE}:{CHECKOUT}"})
    if probe.returncode != 0:  # e.g. a checkout inside a folder only root may enter (mktemp -d makes 0700)
        pytest.skip(f"user nobody can't import this checkout from {CHECKOUT}: {probe.stderr.strip()[-160:]}")
    base = Path(tempfile.mkdtemp(prefix="hitl-doctor-", dir="/tmp"))  # pytest's tmp_path is root-only
    os.chmod(base, 0o755)
    env = make_env(base / "team")
    [tid] = env.start(CRASHY)
    env.close()  # the last connection closes: SQLite removes the -wal and -shm
    folder = env.directory
    for path in [folder, *folder.iterdir()]:
        os.chown(path, 0, NOBODY)
        os.chmod(path, 0o2770 if path.is_dir() else 0o660)
    yield folder, tid
    shutil.rmtree(base)


def as_operator(folder: Path, *args: str, umask: str = "0002") -> tuple[int, str]:
    """`hitl-tui ARGS --config team/config.toml` as uid/gid 65534 with the given umask: (exit code, output)."""
    command = f'umask {umask}; exec "{SYSTEM_PYTHON}" -m hitl_tui {" ".join(args)} --config "{folder / "config.toml"}"'
    done = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "sh", "-c",
                           command], capture_output=True, text=True, timeout=120, cwd=folder,
                          env={"PATH": os.environ["PATH"], "HOME": str(folder), "LANG": "C.UTF-8",
                               "PYTHONPATH": f"{SITE}:{CHECKOUT}"})
    return done.returncode, done.stdout + done.stderr


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("FAIL", "warn"))]


def test_a_correct_team_setup_passes_and_a_real_decision_keeps_it_shared(team: tuple[Path, str]) -> None:
    folder, tid = team
    code, output = as_operator(folder, "doctor")
    assert code == 0 and problems(output) == [], output
    assert "Checking as nobody (uid 65534; groups nogroup)" in output
    assert "SQLite can take its write lock as you, so you can decide." in output
    code, output = as_operator(folder, "approve", tid)
    assert (code, output) == (0, "Decided and resumed; the thread ran to its end.\n")
    # Whatever the operator created (anchor, lock files, outbox...) is the team's, and writable by it.
    for path in folder.iterdir():
        st = path.stat()
        assert st.st_gid == NOBODY and st.st_mode & stat.S_IWGRP, (path, stat.filemode(st.st_mode))
    code, output = as_operator(folder, "doctor")
    assert code == 0 and problems(output) == [], output


def test_a_db_the_group_cant_write_fails_with_the_fix(team: tuple[Path, str]) -> None:
    folder, _ = team
    db = folder / "checkpoints.db"
    os.chmod(db, 0o640)
    code, output = as_operator(folder, "doctor")
    assert code == 1
    assert f"FAIL  db            You can't read and write {db} (owner root, group nogroup, mode -rw-r-----)." in output
    assert f"fix: chgrp <team-group> {db} && chmod g+rw {db}" in output
    assert output.rstrip().endswith("fix the problems, then run `hitl-tui doctor` again.")


def test_a_folder_without_setgid_warns_and_one_the_group_cant_write_fails(team: tuple[Path, str]) -> None:
    folder, _ = team
    os.chmod(folder, 0o770)
    code, output = as_operator(folder, "doctor")
    assert code == 0
    assert [line.split()[1] for line in problems(output)] == ["db-folder"]
    assert "has no setgid bit: files created in it get their creator's own group instead of nogroup" in output
    os.chmod(folder, 0o2750)
    code, output = as_operator(folder, "doctor")
    assert code == 1
    assert f"FAIL  db-folder     You can't create files (checkpoints.db-wal, checkpoints.db-shm) in {folder}" in output
    assert f"fix: chgrp <team-group> {folder} && chmod g+rwxs {folder}" in output


def test_a_umask_that_drops_group_write_warns(team: tuple[Path, str]) -> None:
    folder, _ = team
    code, output = as_operator(folder, "doctor", umask="0022")
    assert code == 0
    assert [line.split()[1] for line in problems(output)] == ["umask"]
    assert "fix: umask 0002" in output


def test_a_config_that_doesnt_load_fails(team: tuple[Path, str]) -> None:
    folder, _ = team
    config = folder / "config.toml"
    config.write_text(config.read_text() + '\n[keys]\napprove = "r"\n', encoding="utf-8")
    code, output = as_operator(folder, "doctor")
    assert code == 1
    assert "FAIL  config        Key 'r' is bound to both approve and reject in [keys]" in output
