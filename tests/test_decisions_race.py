"""Several processes deciding and resuming the same paused threads at once: each decision wins once, each
approved action runs once, each rejected one never, and the history never forks.

The control test shows what the ledger prevents: plain `graph.invoke(Command(resume=...))` from several
processes runs the same side effect more than once, and `check_exactly_once` catches it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from helpers_decisions import (
    CRASHY,
    Env,
    check_audit_matches_ledger,
    effects_per_thread,
    forked_checkpoints,
    ledger_rows,
    plain_invoke_worker,
    processes,
    race_worker,
    read_result,
    run_children,
)

THREADS = 300
WORKERS = 4


def check_exactly_once(env: Env, thread_ids: list[str], approved: set[str]) -> None:
    """The outbox holds one line per approved thread and none for the others; no checkpoint has two children."""
    counts = effects_per_thread(env.outbox_lines())
    doubled = {tid: n for tid, n in counts.items() if n > 1}
    assert not doubled, f"{len(doubled)} threads ran their effect more than once, e.g. {sorted(doubled.items())[:3]}"
    leaked = set(counts) - approved
    assert not leaked, f"{len(leaked)} rejected threads ran their effect, e.g. {sorted(leaked)[:3]}"
    missing = approved - set(counts)
    assert not missing, f"{len(missing)} approved threads never ran their effect, e.g. {sorted(missing)[:3]}"
    assert not forked_checkpoints(env.db), "a thread's history forked (a checkpoint with two children)"


@pytest.mark.parametrize("order", ["same", "shuffled"])
def test_racing_processes_decide_and_resume_each_thread_exactly_once(env: Env, tmp_path: Path, order: str) -> None:
    thread_ids = env.start(CRASHY, THREADS)
    barrier = processes().Barrier(WORKERS)
    outs = [tmp_path / f"worker-{w}.json" for w in range(WORKERS)]
    seeds = [None if order == "same" else 1000 + w for w in range(WORKERS)]
    codes = run_children(race_worker, [(str(env.config_path), w, seeds[w], barrier, str(outs[w]))
                                       for w in range(WORKERS)])
    assert codes == [0] * WORKERS
    results = [read_result(out) for out in outs]
    assert all(r["seen"] == THREADS for r in results)

    # Every thread was decided exactly once, by exactly one worker; everyone else was told who and why.
    rows = ledger_rows(env.db)
    by_thread = Counter(r["thread_id"] for r in rows)
    assert set(by_thread) == set(thread_ids) and set(by_thread.values()) == {1}
    winners = Counter(tid for r in results for tid in r["won"])
    assert winners == Counter({tid: 1 for tid in thread_ids})
    row_of = {r["thread_id"]: r for r in rows}
    for w, result in enumerate(results):
        for tid, won in result["won"].items():
            assert row_of[tid]["decision_id"] == won["decision_id"]
            assert row_of[tid]["operator"] == f"racer-{w}@testhost"
        for tid, why in result["refused"].items():
            assert why.startswith("Already decided") and row_of[tid]["operator"].split("@")[0] in why, why
    assert sum(len(r["won"]) + len(r["refused"]) for r in results) == THREADS * WORKERS
    # Both kinds of decision won somewhere (the workers disagree on every thread), so both paths ran.
    kinds = Counter(w["choice"] for r in results for w in r["won"].values())
    assert kinds["approve"] > 0 and kinds["reject"] > 0

    # Every decision was resumed once and the agents agree with the ledger.
    assert {r["state"] for r in rows} == {"finished"}
    approved = {tid for r in results for tid, w in r["won"].items() if w["choice"] == "approve"}
    check_exactly_once(env, thread_ids, approved)
    for line in env.outbox_lines():
        assert line["decision_id"] == row_of[line["thread_id"]]["decision_id"]  # the idempotency key reached it
    graph = env.graph(CRASHY)
    for tid in thread_ids:
        values = graph.get_state({"configurable": {"thread_id": tid}}).values
        assert values["status"] == ("shipped" if tid in approved else "declined"), (tid, values)

    # The audit log verifies and holds every event once, in commit order (4 processes appended at once).
    check_audit_matches_ledger(env)


def test_plain_langgraph_resumes_run_the_effect_more_than_once(env: Env, tmp_path: Path) -> None:
    """The control: without the ledger, racing resumes duplicate effects, and the check above says so."""
    thread_ids = env.start(CRASHY, 40)
    barrier = processes().Barrier(WORKERS)
    outs = [tmp_path / f"plain-{w}.json" for w in range(WORKERS)]
    codes = run_children(plain_invoke_worker, [(str(env.config_path), CRASHY, thread_ids, barrier, str(outs[w]))
                                               for w in range(WORKERS)])
    assert codes == [0] * WORKERS
    counts = effects_per_thread(env.outbox_lines())
    assert max(counts.values()) > 1, "plain LangGraph happened not to race this time"
    with pytest.raises(AssertionError, match="more than once"):
        check_exactly_once(env, thread_ids, set(thread_ids))
