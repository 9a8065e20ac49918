"""The decision ledger in Postgres: compare-and-set, claims, leases and the audit chain, against a real server
and threads written by real LangGraph graphs through PostgresSaver (never mocks).

Several hosts are simulated by processes with different HITL_TUI_HOST_ID: a claim names its host, so another
host can only recover it once its lease runs out.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers_decisions import approve, operator, processes, read_result, run_children
from helpers_pg_decisions import (
    PgEnv,
    make_pg_env,
    pg_decide_and_crash,
    pg_race_worker,
    pg_worker_pass,
)

from hitl_tui.errors import DecisionRefused

pytest.importorskip("psycopg")


@pytest.fixture
def pg_env(pg_dsn: str, tmp_path: Path) -> PgEnv:
    return make_pg_env(pg_dsn, tmp_path)


def _verify_chain(dsn: str) -> tuple[bool, int, str | None]:
    import psycopg

    from hitl_tui.audit.pg_chain import verify_chain

    with psycopg.connect(dsn, autocommit=True) as conn:
        report = verify_chain(conn)
    return report.ok, report.events, report.reason


def _read(dsn: str, config: object, thread_id: str) -> object:
    from hitl_tui.checkpoints.postgres.thread_reader import PostgresThreadReader

    reader = PostgresThreadReader(dsn, config)  # type: ignore[arg-type]
    try:
        return reader.thread(thread_id)
    finally:
        reader.close()


def test_a_decision_resumes_once_and_a_second_one_is_refused(pg_env: PgEnv) -> None:
    from hitl_tui.decisions.desk import DecisionDesk

    [tid] = pg_env.start(1)
    config = pg_env.config("host-a")
    thread = _read(pg_env.dsn, config, tid)
    assert thread is not None
    desk = DecisionDesk(config, pg_env.dsn, operator("olivia"))
    result = desk.decide(thread, thread.interrupts[0], [approve()])  # type: ignore[attr-defined]
    assert [r.state.value for r in result.records] == ["finished"]
    other = DecisionDesk(pg_env.config("host-b"), pg_env.dsn, operator("omar"))
    with pytest.raises(DecisionRefused, match="Already decided"):
        other.decide(thread, thread.interrupts[0], [approve()])  # type: ignore[attr-defined]
    desk.close()
    other.close()
    assert pg_env.effects() == Counter({tid: 1})
    assert _verify_chain(pg_env.dsn)[0]
    from hitl_tui.audit import verify

    assert verify(config.audit_log).ok  # this host's file copy of the chain


def test_a_stale_view_is_refused(pg_env: PgEnv) -> None:
    from hitl_tui.decisions.desk import DecisionDesk

    [tid] = pg_env.start(1)
    config = pg_env.config("host-a")
    seen = _read(pg_env.dsn, config, tid)
    desk = DecisionDesk(config, pg_env.dsn, operator("olivia"))
    desk.decide(seen, seen.interrupts[0], [approve()])  # type: ignore[attr-defined]
    # The thread moved on (finished) after `seen` was read: a decision on that view names a gone checkpoint.
    pg_env.execute("DELETE FROM hitl_decisions")  # even with no record of the first decision
    with pytest.raises(DecisionRefused, match=r"finished|moved on"):
        desk.decide(seen, seen.interrupts[0], [approve()])  # type: ignore[attr-defined]
    desk.close()
    assert pg_env.effects() == Counter({tid: 1})


THREADS = 200
HOSTS = ("host-a", "host-b")


def test_four_processes_on_two_hosts_decide_and_resume_each_thread_exactly_once(
    pg_env: PgEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    thread_ids = pg_env.start(THREADS)
    barrier = processes().Barrier(4)
    outs = [tmp_path / f"racer-{w}.json" for w in range(4)]
    args = [(pg_env.dsn, str(pg_env.config_path(HOSTS[w % 2])), HOSTS[w % 2], w, 1000 + w, barrier, str(outs[w]))
            for w in range(4)]
    assert run_children(pg_race_worker, args, timeout=300) == [0] * 4
    results = [read_result(out) for out in outs]
    assert all(r["seen"] == THREADS for r in results)

    rows = pg_env.rows()
    assert Counter(r["thread_id"] for r in rows) == Counter({tid: 1 for tid in thread_ids})  # 0 lost, 0 twice
    assert Counter(tid for r in results for tid in r["won"]) == Counter({tid: 1 for tid in thread_ids})
    assert {r["state"] for r in rows} == {"finished"}
    approved = {tid for r in results for tid, w in r["won"].items() if w["choice"] == "approve"}
    effects = pg_env.effects()
    assert not {t: n for t, n in effects.items() if n > 1}, "an effect ran twice"
    assert set(effects) == approved, "an approved effect was lost, or a rejected one ran"
    assert 0 < len(approved) < THREADS
    # Both hosts resumed something: the work really was shared across hosts.
    assert {r["claimed_by"].split("|")[0] for r in rows} == set(HOSTS)

    # One chain for the database, each host's file copy holds all of it, in the same order.
    ok, count, reason = _verify_chain(pg_env.dsn)
    assert ok, reason
    assert count == 2 * THREADS + sum(len(r["refused"]) for r in results)
    from hitl_tui.audit import AuditLog, iter_records, verify
    from hitl_tui.decisions.postgres.ledger import PostgresLedger

    copies = []
    for host in HOSTS:
        path = pg_env.config(host).audit_log
        assert verify(path).ok
        # A host's copy has what was committed by its last flush: one more (its next worker pass) catches up.
        monkeypatch.setenv("HITL_TUI_HOST_ID", host)
        ledger = PostgresLedger(pg_env.dsn, pg_env.config(host))
        ledger.flush_audit(AuditLog(path))
        ledger.close()
        assert verify(path).ok
        copies.append([r["event_id"] for r in iter_records(path)])
    assert copies[0] == copies[1] and len(copies[0]) == count


@pytest.mark.parametrize(("crash", "final", "effects"), [
    ({"HITL_TUI_CRASH_AT": "after_claim"}, "finished", 1),  # nothing ran: the other host resumes it, once
    ({"HITL_TEST_KILL": "after_effect"}, "in_doubt", 1),  # the effect ran: never run again, a person checks
    ({"HITL_TUI_CRASH_AT": "after_invoke"}, "finished", 1),  # the run completed: recorded, not run again
])
def test_a_dead_hosts_claim_is_settled_by_another_host_after_its_lease(
    pg_env: PgEnv, tmp_path: Path, crash: dict[str, str], final: str, effects: int,
) -> None:
    lease = 3.0
    [tid] = pg_env.start(1)
    codes = run_children(pg_decide_and_crash, [(pg_env.dsn, str(pg_env.config_path("host-a")), "host-a", lease,
                                                crash, tid)])
    assert codes == [-9]
    [row] = pg_env.rows()
    assert row["state"] == "resuming" and row["claimed_by"].startswith("host-a|")

    out = tmp_path / "pass.json"
    worker_args = (pg_env.dsn, str(pg_env.config_path("host-b")), "host-b", lease, str(out))
    assert run_children(pg_worker_pass, [worker_args]) == [0]
    read_result(out)
    [row] = pg_env.rows()
    assert row["state"] == "resuming", "a live lease was taken over"

    time.sleep(lease + 0.5)
    assert run_children(pg_worker_pass, [worker_args]) == [0]
    assert "recovered: 1" in read_result(out)
    [row] = pg_env.rows()
    assert row["state"] == final and row["claimed_by"].startswith("host-b|")
    assert pg_env.effects() == Counter({tid: effects})
    assert _verify_chain(pg_env.dsn)[0]


def test_a_lapsed_claim_can_not_start_the_agent(pg_env: PgEnv) -> None:
    """Fencing: a holder whose lease ran out (cut off from the database) may not move its claim on."""
    from hitl_tui.decisions.postgres.ledger import PostgresLedger
    from hitl_tui.errors import ClaimLost

    [tid] = pg_env.start(1)
    config = pg_env.config("host-a")
    thread = _read(pg_env.dsn, config, tid)
    ledger = PostgresLedger(pg_env.dsn, config)
    ledger.submit(thread, [(thread.interrupts[0], [approve()])], operator("olivia"))  # type: ignore[arg-type, attr-defined]
    batch = ledger.claim_next(ledger.claimant)
    assert batch
    pg_env.execute("UPDATE hitl_decisions SET lease_until = now() - interval '1 second'")
    assert ledger.lapsed_claims() == {batch[0].batch_id}
    with pytest.raises(ClaimLost):
        ledger.set_phase(batch, "invoking")
    ledger.close()


def test_four_eyes_votes_from_two_hosts_make_one_decision(pg_env: PgEnv) -> None:
    from hitl_tui.decisions.ledger import LedgerRow, Vote
    from hitl_tui.decisions.postgres.ledger import PostgresLedger

    [tid] = pg_env.start(1)
    config = pg_env.config("host-a")
    thread: Any = _read(pg_env.dsn, config, tid)
    item = [(thread.interrupts[0], [approve()])]
    a, b = PostgresLedger(pg_env.dsn, config), PostgresLedger(pg_env.dsn, pg_env.config("host-b"))
    first = a.submit(thread, item, operator("olivia", uid=1001), approvals_needed=2)
    assert [type(v) for v in first] == [Vote]
    with pytest.raises(DecisionRefused, match="already approved"):
        b.submit(thread, item, operator("olivia", uid=1001), approvals_needed=2)
    second = b.submit(thread, item, operator("omar", uid=1002), approvals_needed=2)
    assert [type(r) for r in second] == [LedgerRow] and second[0].approvals == 2  # type: ignore[union-attr]
    a.close()
    b.close()
    assert [r["state"] for r in pg_env.rows()] == ["decided"]


def test_a_live_holder_keeps_its_claim_past_the_lease(pg_env: PgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lease keeper renews a live process's claims: a resume that runs longer than a lease is never taken."""
    from hitl_tui.decisions.postgres.ledger import PostgresLedger

    monkeypatch.setenv("HITL_TUI_LEASE_SECONDS", "1")
    [tid] = pg_env.start(1)
    config = pg_env.config("host-a")
    thread: Any = _read(pg_env.dsn, config, tid)
    holder = PostgresLedger(pg_env.dsn, config)
    holder.submit(thread, [(thread.interrupts[0], [approve()])], operator("olivia"))
    batch = holder.claim_next(holder.claimant)
    assert batch
    other = PostgresLedger(pg_env.dsn, pg_env.config("host-b"), claimant="host-b|1|1|boot")
    time.sleep(2.5)  # two and a half leases
    assert other.lapsed_claims() == set()
    assert not other.takeover(batch, dead=batch[0].claimed_by, claimant=other.claimant)
    holder.set_phase(batch, "invoking")  # still the holder's to move on
    holder.close()  # the process ends: nobody renews any more
    time.sleep(1.5)
    assert other.lapsed_claims() == {batch[0].batch_id}
    other.close()
