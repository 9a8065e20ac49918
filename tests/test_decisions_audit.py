"""Every committed decision reaches the audit log exactly once and in commit order: after a crash between the DB
commit and the append, mid-flush, or before the copy is marked done; with the log unwritable for a while; and with
several processes appending at once. Records carry who, what, where and how it ended."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_decisions import (
    CRASHY,
    FIXED_NOW,
    Env,
    approve,
    audit_records,
    check_audit_matches_ledger,
    decide_subset_worker,
    edit,
    events,
    ledger_rows,
    processes,
    read_result,
    reject,
    run_children,
    submit_then_die,
)

from hitl_tui.audit import AuditLog, verify
from hitl_tui.canonical import value_hash
from hitl_tui.decisions.decision import DecisionState
from hitl_tui.errors import DecisionRefused
from hitl_tui.identity import Operator

KILLED = -9


def decision_ids_in_log(env: Env) -> list[str]:
    return [r["decision_id"] for r in audit_records(env.audit_path) if r["event"] == "decision"]


@pytest.mark.parametrize(
    ("die_at", "appends_before_death"),
    [("commit", 0), ("append", 0), ("append", 2), ("mark", 0)],
    ids=["after-commit", "before-first-append", "mid-flush", "before-marking-flushed"],
)
def test_a_crash_around_the_append_loses_nothing_and_duplicates_nothing(
    env: Env, die_at: str, appends_before_death: int
) -> None:
    doomed = env.start(CRASHY, 3)
    assert run_children(submit_then_die, [(str(env.config_path), doomed, die_at, appends_before_death)]) == [KILLED]
    committed = [r["decision_id"] for r in ledger_rows(env.db)]
    assert len(committed) == 3
    logged_before = decision_ids_in_log(env)
    expected_before = {"commit": 0, "append": appends_before_death, "mark": 3}[die_at]
    assert logged_before == committed[:expected_before]

    # Someone else decides later; their flush carries the dead process's decisions first, in order, once.
    [late] = env.start(CRASHY, 1, prefix="late")
    desk = env.desk()
    thread = env.paused(late)
    mine = desk.decide(thread, thread.interrupts[0], [approve()]).records[0]
    assert desk.audit_error is None
    assert decision_ids_in_log(env) == [*committed, mine.decision_id]
    # The dead process's decisions still resume (they were committed, so they stand), once.
    assert {state for _, state in desk.resumer.run()} == {DecisionState.FINISHED}
    desk.flush_audit()
    assert sorted(line["thread_id"] for line in env.outbox_lines()) == sorted([*doomed, late])
    check_audit_matches_ledger(env)
    desk.close()


def test_an_unwritable_log_decides_nothing_until_it_can_be_written(env: Env, tmp_path: Path) -> None:
    """No side effect runs while its audit trail can't be written: the decision is refused before it is
    recorded (it used to stand, run the agent and only warn)."""
    from hitl_tui.errors import HitlError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log's folder should be")
    [tid] = env.start(CRASHY, 1)
    desk = env.desk(audit=AuditLog(blocker / "decisions.jsonl"))
    thread = env.paused(tid)
    with pytest.raises(HitlError, match=r"not-a-folder.*Nothing was decided"):
        desk.decide(thread, thread.interrupts[0], [approve()])
    assert env.outbox_lines() == [] and ledger_rows(env.db) == [] and events(env.db) == []
    desk.close()
    healthy = env.desk()
    assert healthy.decide(thread, thread.interrupts[0], [approve()]).records[0].state is DecisionState.FINISHED
    assert [r["event"] for r in audit_records(env.audit_path)] == ["decision", "outcome"]
    check_audit_matches_ledger(env)
    healthy.close()


def test_a_log_in_a_folder_not_made_yet_is_writable(env: Env, tmp_path: Path) -> None:
    """The writability check creates the log's folder as an append would: a first decision is not refused."""
    [tid] = env.start(CRASHY, 1)
    log = tmp_path / "logs" / "ops" / "decisions.jsonl"
    desk = env.desk(audit=AuditLog(log))
    thread = env.paused(tid)
    assert desk.decide(thread, thread.interrupts[0], [approve()]).records[0].state is DecisionState.FINISHED
    assert [r["event"] for r in audit_records(log)] == ["decision", "outcome"]
    desk.close()


def test_concurrent_appenders_keep_the_chain_valid(env: Env, tmp_path: Path) -> None:
    workers, per_worker = 4, 15
    ids = env.start(CRASHY, workers * per_worker)
    barrier = processes().Barrier(workers)
    outs = [tmp_path / f"appender-{w}.json" for w in range(workers)]
    codes = run_children(decide_subset_worker, [(str(env.config_path), w, ids[w::workers], barrier, str(outs[w]))
                                                for w in range(workers)])
    assert codes == [0] * workers and [read_result(o) for o in outs] == [per_worker] * workers
    report = verify(env.audit_path)
    assert report.ok and report.records == 2 * workers * per_worker
    records = audit_records(env.audit_path)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert {r["actor"]["user"] for r in records} == {f"appender-{w}" for w in range(workers)}
    check_audit_matches_ledger(env)


def test_records_say_who_what_where_and_how_it_ended(env: Env) -> None:
    edited_thread, rejected_thread = env.start(CRASHY, 2)
    alice = Operator(uid=1234, user="alice", host="console-1", login_uid=1234, tty="/dev/pts/3",
                     ssh_client="192.0.2.7", ssh_client_port=50022, ssh_client_source="env")
    from hitl_tui.decisions.desk import DecisionDesk

    desk = DecisionDesk(env.config, env.db, alice, clock=lambda: FIXED_NOW)
    seen = env.paused(edited_thread)
    new_args = {"item": "a smaller box"}
    desk.decide(seen, seen.interrupts[0], [edit(new_args)])
    other = env.paused(rejected_thread)
    desk.decide(other, other.interrupts[0], [reject("wrong size")])
    with pytest.raises(DecisionRefused):
        desk.decide(other, other.interrupts[0], [approve()])
    records = audit_records(env.audit_path)
    assert [(r["event"], r["thread_id"]) for r in records] == [
        ("decision", edited_thread), ("outcome", edited_thread),
        ("decision", rejected_thread), ("outcome", rejected_thread), ("refused", rejected_thread),
    ]
    decided, outcome, _, _, refusal = records
    assert decided["actor"] == alice.as_record()
    assert decided["actor"]["ssh_client_source"] == "env"
    assert decided["host"] == "console-1"
    assert (decided["checkpoint_id"], decided["interrupt_id"]) == (seen.checkpoint_id, seen.interrupts[0].interrupt_id)
    assert decided["action"] == "ship" and decided["payload_hash"] == seen.interrupts[0].payload_hash
    assert decided["decision"] == "edit" and decided["args_hash"] == value_hash([new_args])
    assert decided["ts"].endswith("Z") and decided["prev_hash"] == "0" * 64
    assert (outcome["outcome"], outcome["decision_id"]) == ("finished", decided["decision_id"])
    assert records[2]["text"] == "wrong size" and records[2]["args_hash"] is None
    assert refusal["error"].startswith("Already decided (reject) by alice@console-1 at 2025-03-04 05:06:07 UTC")
    assert verify(env.audit_path).ok
    desk.close()


def test_the_db_is_synced_before_the_log_holds_its_events(env: Env) -> None:
    """Outcomes commit without an fsync; an OS crash could take one back. The log must never hold an event the
    DB then lost, so a flush makes the DB durable (ledger.sync) before it appends."""
    [tid] = env.start(CRASHY)
    thread = env.paused(tid)
    desk = env.desk()
    steps: list[str] = []
    real_sync, real_append = desk.ledger.sync, desk.audit.append_many
    desk.ledger.sync = lambda: steps.append("sync") or real_sync()
    desk.audit.append_many = lambda items: steps.append(f"append {len(items)}") or real_append(items)
    assert desk.decide(thread, thread.interrupts[0], [approve()]).records[0].state is DecisionState.FINISHED
    assert steps == ["sync", "append 2"]  # the decision and its outcome, in one append
    check_audit_matches_ledger(env)
    desk.close()


_SYNC_CHILD = """
import sys
from pathlib import Path
from hitl_tui.config import load_config
from hitl_tui.decisions.ledger import DecisionLedger
ledger = DecisionLedger(Path(sys.argv[1]), load_config(Path(sys.argv[2])))
with ledger.transaction(durable=False) as conn:  # a relaxed commit: in the WAL, not yet fsynced
    conn.execute("INSERT INTO hitl_acks VALUES ('relaxed', 'x', 'now', NULL)")
print("SYNC-START", flush=True)
ledger.sync()
print("SYNC-END", flush=True)
"""


def test_sync_really_fsyncs_the_wal_through_sqlite(env: Env) -> None:
    """ledger.sync() leaves the fsync to SQLite (a durable commit), never opening the WAL itself: strace shows
    the WAL synced between the two markers, by a descriptor SQLite opened."""
    import shutil
    import subprocess
    import sys

    strace = shutil.which("strace")
    assert strace, "strace is needed (`.ci/run` installs it)"
    out = subprocess.run(
        [strace, "-f", "-y", "-e", "trace=fsync,fdatasync,write", sys.executable, "-c", _SYNC_CHILD,
         str(env.db), str(env.config_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    trace = out.stderr.splitlines()
    start = next(i for i, line in enumerate(trace) if "SYNC-START" in line)
    end = next(i for i, line in enumerate(trace) if "SYNC-END" in line)
    synced = [line for line in trace[start:end] if line.split("(")[0].rsplit(" ", 1)[-1] in ("fsync", "fdatasync")]
    assert any(f"{env.db.name}-wal>" in line for line in synced), trace[start:end]


def test_a_burst_of_decisions_is_logged_when_it_ends_or_at_least_every_interval(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hitl_tui.decisions.desk as desk_module

    tids = env.start(CRASHY, 3)
    desk = env.desk()
    for tid in tids[:2]:
        thread = env.paused(tid)
        desk.decide(thread, thread.interrupts[0], [approve()], flush=False)
        assert desk.flush_audit_if_due(idle=False) is False  # mid-burst, interval not reached
    assert decision_ids_in_log(env) == [] and len(events(env.db)) == 4  # durable in the DB meanwhile
    assert desk.flush_audit_if_due(idle=True) is True
    assert len(decision_ids_in_log(env)) == 2
    assert desk.flush_audit_if_due(idle=True) is False  # nothing new
    monkeypatch.setattr(desk_module, "AUDIT_FLUSH_INTERVAL", 0.0)
    thread = env.paused(tids[2])
    desk.decide(thread, thread.interrupts[0], [approve()], flush=False)
    assert desk.flush_audit_if_due(idle=False) is True  # a long burst still reaches the log
    check_audit_matches_ledger(env)
    desk.close()
