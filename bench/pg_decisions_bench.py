"""What exactly-once costs on Postgres: decide + resume N paused threads through hitl-tui's desk (compare-and-set
under a thread lock, claim with a lease, phases, the audit chain, the decisions.jsonl copy) against the same N
resumed with a plain `graph.invoke(Command(resume=...))` through PostgresSaver.

    uv run --frozen python bench/pg_decisions_bench.py [--threads 400] [--dsn postgresql://me@host/empty_db]

Both sides run tests/decisions_graph.py's agent (one approval, one outbox line per execution) in one database,
alternating in chunks so machine load hits both alike. Reading the threads is left out of both timings. Without
--dsn a throwaway server is started (tests/pg_server.py: fsync off, so commit waits are not what is measured).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

CHUNK = 25


def run(dsn: str, n: int) -> None:
    import decisions_graph
    from helpers_decisions import approve, operator
    from helpers_pg_decisions import make_pg_env
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.types import Command

    from hitl_tui.checkpoints.postgres.thread_reader import PostgresThreadReader
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.decisions.resume_values import plan_resume

    env = make_pg_env(dsn, Path(tempfile.mkdtemp(prefix="pg-decisions-bench-")))
    t0 = time.perf_counter()
    ours, plain = env.start(n, "hitl"), env.start(n, "plain")
    print(f"{2 * n} threads paused in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    config = env.config("host-a")
    reader = PostgresThreadReader(dsn, config)
    threads = {t.thread_id: t for t in reader.read_all().threads}
    reader.close()
    desk = DecisionDesk(config, dsn, operator("bench"))
    answers: dict[str, Any] = {}
    for tid in plain:
        interrupt = threads[tid].interrupts[0]
        plan = plan_resume(interrupt, [approve()], graph=config.graph(decisions_graph.GRAPH_ID), decision_id=tid,
                           operator="bench")
        answers[tid] = {plan.interrupt_id: plan.resume}
    timed = {"hitl": 0.0, "plain": 0.0}
    with PostgresSaver.from_conn_string(dsn) as saver:
        graph = decisions_graph.build_graph(saver)
        for start in range(0, n, CHUNK):
            t = time.perf_counter()
            for tid in ours[start:start + CHUNK]:
                thread = threads[tid]
                desk.decide(thread, thread.interrupts[0], [approve()])
            timed["hitl"] += time.perf_counter() - t
            t = time.perf_counter()
            for tid in plain[start:start + CHUNK]:
                graph.invoke(Command(resume=answers[tid]), {"configurable": {"thread_id": tid,
                                                                              "hitl_outbox": str(env.outbox)}},
                             durability="sync")
            timed["plain"] += time.perf_counter() - t
    desk.close()
    effects = env.effects()
    assert all(effects[t] == 1 for t in ours + plain), "an effect ran twice or never"
    ratio = timed["hitl"] / timed["plain"]
    print(f"{n} threads each side, chunks of {CHUNK}; Postgres")
    print(f"{'plain PostgresSaver resume':32}{timed['plain']:>8.2f} s {1000 * timed['plain'] / n:>8.2f} ms/thread")
    print(f"{'hitl-tui decide + resume':32}{timed['hitl']:>8.2f} s {1000 * timed['hitl'] / n:>8.2f} ms/thread")
    print(f"{'ratio':32}{ratio:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=400)
    parser.add_argument("--dsn", help="an existing empty database (default: start a throwaway server)")
    args = parser.parse_args()
    if args.dsn:
        run(args.dsn, args.threads)
        return
    from pg_server import fresh_database, running_server, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        sys.exit("no PostgreSQL server installed (apt-get install postgresql), and no --dsn given")
    with running_server(bin_dir) as admin:
        run(fresh_database(admin, "bench"), args.threads)


if __name__ == "__main__":
    main()
