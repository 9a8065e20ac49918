"""Without a config, every console and CLI call on one DB writes one audit log: next to the DB, not in whatever
folder it was started from; `audit verify --db` also says how many events the DB holds that the log doesn't yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers_decisions import CRASHY, Env, run_children, submit_then_die


def _hitl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HITL_TUI_CONFIG"}
    exe = Path(sys.executable).with_name("hitl-tui")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def test_without_a_config_the_audit_log_is_next_to_the_db(env: Env, tmp_path: Path) -> None:
    first, second = env.start(CRASHY, 2)
    elsewhere = [tmp_path / "alice-home", tmp_path / "bob-home"]
    for folder in elsewhere:
        folder.mkdir()
    env.audit_path.unlink(missing_ok=True)
    # No config.toml in either folder and none named: two operators, two working folders, one DB. The graph
    # isn't configured here, so both are left for a worker that knows it, and say so.
    for folder, tid in zip(elsewhere, (first, second), strict=True):
        out = _hitl("reject", tid, "--db", str(env.db), "--reason", "no", cwd=folder)
        assert out.returncode == 0 and "run `hitl-tui worker` with a config that names graph" in out.stdout, out
    assert all(not (f / "decisions.jsonl").exists() for f in elsewhere)
    beside = env.db.parent / "decisions.jsonl"
    records = [json.loads(line) for line in beside.read_text().splitlines()]
    assert [r["event"] for r in records] == ["decision", "decision"]
    verified = _hitl("audit", "verify", "--db", str(env.db), "--json", cwd=elsewhere[0])
    assert verified.returncode == 0 and json.loads(verified.stdout)["pending_in_db"] == 0


def test_verify_reports_events_still_waiting_in_the_db(env: Env) -> None:
    doomed = env.start(CRASHY, 2)
    assert run_children(submit_then_die, [(str(env.config_path), doomed, "commit", 0)]) == [-9]  # died unflushed
    out = _hitl("audit", "verify", "--config", str(env.config_path), "--db", str(env.db), cwd=env.directory)
    assert out.returncode == 2  # no log was ever written, but the DB holds the two decisions
    assert "note: 2 event(s) recorded in" in out.stdout and "are not in the log yet" in out.stdout
