"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, `postgres` on 127.0.0.1 at a free
port, trust authentication, torn down (and its folder removed) at the end of the session.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the `postgres` user (or `nobody`),
in a folder under /tmp that user owns (pytest's own tmp folders are 0700 root). Durability is switched off
(fsync, synchronous_commit): the data lives only for the run, and the tests measure answers, not disk waits.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPERUSER = "hitl"
START_TIMEOUT_S = 60.0


def server_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = []
    for folder in glob.glob("/usr/lib/postgresql/*/bin"):
        version = Path(folder).parent.name
        if version.isdigit() and (Path(folder) / "postgres").exists() and (Path(folder) / "initdb").exists():
            found.append((int(version), Path(folder)))
    if found:
        return max(found)[1]
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def _run_as() -> str | None:
    """The user to run the server as: None for ourselves, unless we are root (which postgres refuses)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither user postgres nor nobody exists to run PostgreSQL as")


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    # setpriv keeps our environment and working directory and needs no PAM session (unlike su).
    return ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--init-groups", *argv]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(dsn: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not accept connections within {START_TIMEOUT_S:.0f} s") from None
            time.sleep(0.05)


@contextlib.contextmanager
def running_server(bin_dir: Path, extra: dict[str, str] | None = None) -> Iterator[str]:
    """Start a fresh server and yield the DSN of its `postgres` database (superuser, trust auth); `extra`:
    more server settings (the benchmark's shared_buffers)."""
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="hitl-pg-"))
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        data, log = root / "data", root / "server.log"
        subprocess.run(
            _as_user(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                            "--encoding=UTF8", "--no-sync"]),
            check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=root,
        )
        port = _free_port()
        settings = {
            "listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(root),
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "100",
            **(extra or {}),
        }
        argv = [str(bin_dir / "postgres"), "-D", str(data)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        with open(log, "wb") as out:  # the server inherits the descriptor and keeps writing
            proc = subprocess.Popen(
                _as_user(user, argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=root,
            )
        dsn = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        try:
            _wait_ready(dsn, proc, log)
            yield dsn
        finally:
            # SIGINT: the "fast" shutdown (rolls back open sessions, no recovery needed).
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(admin_dsn: str, name: str) -> str:
    """Create an empty database on the server and return its DSN (one per test: no state leaks between tests)."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


# -- fixtures (registered as a plugin in conftest.py; the server starts only when a test asks for it) -----------

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The session's PostgreSQL server (admin DSN). Skipped only where no server is installed and CI is not set:
    CI installs one (.ci/run), so there a missing server is a failure, never a silent skip."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI=true but no PostgreSQL server binary was found (.ci/run installs the postgresql package)")
        pytest.skip("no PostgreSQL server installed (apt-get install postgresql, or run .ci/run)")
    with running_server(bin_dir) as dsn:
        yield dsn


@pytest.fixture
def pg_dsn(pg_server: str) -> str:
    """An empty database of its own for one test."""
    return fresh_database(pg_server, f"t{os.getpid()}_{next(_names)}")
