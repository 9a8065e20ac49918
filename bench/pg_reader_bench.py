"""Postgres reader benchmark: the same 100,000-thread data shape in LangGraph's Postgres checkpointer and in its
SQLite one, listed cold and re-checked unchanged, side by side.

    uv run --frozen python bench/pg_reader_bench.py                  # 100,000 threads, a throwaway server
    uv run --frozen python bench/pg_reader_bench.py --threads 2000   # a quick run
    uv run --frozen python bench/pg_reader_bench.py --dsn postgresql://me@host/db   # an existing, empty database

The Postgres data is built like bench/reader_bench.py's SQLite DB: each kind of thread (bench/bench_graphs.py) runs
once through the real PostgresSaver, then its rows (checkpoints, blobs, writes) are copied under new thread ids
with SQL, in the same mix (--mix realistic: 113 of every 120 threads finished, 6 paused, 1 failed). The SQLite
side is reader_bench.py's cached DB of the same size and mix. Without --dsn a throwaway server is started
(tests/pg_server.py: fsync off, default shared_buffers 128 MB) and removed afterwards.

Figures: cold = a new reader's `read_all()` (median of --runs, data in the server's / OS cache); unchanged
re-check = mean `poll()` when nobody wrote; new pause = the `poll()` that returns a thread another connection
just ran until it paused (mean and worst of --pauses). A --dsn database that already holds the tables is measured
as it is (build once, measure again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

PAUSE_KINDS = ("email", "per_call", "parallel", "subgraph")
Pauser = tuple[Callable[[int], str], Callable[[str], None]]  # (write a new pause -> its thread id, remove it)
_TABLES = {
    "checkpoints": "checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata",
    "checkpoint_blobs": "checkpoint_ns, channel, version, type, blob",
    "checkpoint_writes": "checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob",
}


def build_postgres(dsn: str, n: int, mix: str) -> None:
    """Run each template through the real PostgresSaver, then copy its rows under n new thread ids."""
    import psycopg
    from bench_graphs import run_template
    from langgraph.checkpoint.postgres import PostgresSaver
    from reader_bench import MIXES

    slots = MIXES[mix]
    with PostgresSaver.from_conn_string(dsn) as saver:
        saver.setup()
        for kind, finish in sorted(set(slots)):
            run_template(saver, kind, finish, f"template-{kind}-{'done' if finish else 'open'}")
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE slots (k integer PRIMARY KEY, template text)")
        conn.cursor().executemany(
            "INSERT INTO slots VALUES (%s, %s)",
            [(i, f"template-{kind}-{'done' if finish else 'open'}") for i, (kind, finish) in enumerate(slots)],
        )
        # The same scattered, uuid-like thread ids as the SQLite bench DB.
        new_id = (
            "lpad(to_hex((n.i::bigint * 2654435761) %% 4294967296), 8, '0') || '-' "
            "|| lpad(to_hex(n.i %% 65536), 4, '0') || '-4000-8000-' || lpad(n.i::text, 12, '0')"
        )
        for table, cols in _TABLES.items():
            copied = ", ".join("t." + c.strip() for c in cols.split(","))
            conn.execute(
                f"INSERT INTO {table} (thread_id, {cols}) SELECT {new_id}, {copied} "
                f"FROM generate_series(0, %s - 1) AS n(i) JOIN slots AS s ON s.k = n.i %% {len(slots)} "
                f"JOIN {table} AS t ON t.thread_id = s.template",
                (n,),
            )
            conn.execute(f"DELETE FROM {table} WHERE thread_id LIKE 'template-%%'")
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by the time a console opens


def built(dsn: str) -> bool:
    """True when the database already holds bench data (a --dsn run again): it is measured as it is."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT to_regclass('checkpoints') IS NOT NULL").fetchone()[0]  # type: ignore[index,no-any-return]


def counts(dsn: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES}  # type: ignore[index]
        out["threads"] = conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()[0]  # type: ignore[index]
        out["db_mb"] = conn.execute("SELECT pg_database_size(current_database()) / 1000000").fetchone()[0]  # type: ignore[index]
    return out


def new_pause_sqlite(path: Path) -> Pauser:
    """Another connection runs a real graph until it pauses on a new thread; its rows are removed after the poll
    (and one untimed poll takes that in, as reader_bench does)."""
    import sqlite3

    from bench_graphs import run_template
    from langgraph.checkpoint.sqlite import SqliteSaver

    writer = sqlite3.connect(path, check_same_thread=False)
    saver = SqliteSaver(writer)

    def pause(i: int) -> str:
        tid = f"bench-new-{os.getpid()}-{i}"
        run_template(saver, PAUSE_KINDS[i % len(PAUSE_KINDS)], False, tid)
        return tid

    def remove(tid: str) -> None:  # leave the cached DB as it was
        for table in ("writes", "checkpoints"):
            writer.execute(f"DELETE FROM {table} WHERE thread_id = ?", (tid,))
        writer.commit()

    return pause, remove


def new_pause_postgres(dsn: str) -> Pauser:
    import psycopg
    from bench_graphs import run_template
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    # The connection PostgresSaver.from_conn_string makes, kept open as long as the bench process.
    saver = PostgresSaver(psycopg.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row))

    def pause(i: int) -> str:
        tid = f"bench-new-{os.getpid()}-{i}"
        run_template(saver, PAUSE_KINDS[i % len(PAUSE_KINDS)], False, tid)
        return tid

    return pause, saver.delete_thread


def measure(
    open_reader: Callable[[], Any], runs: int, polls: int, pauser: Pauser, pauses: int
) -> dict[str, float]:
    cold, listed = [], 0
    for _ in range(runs):
        reader = open_reader()
        t0 = time.perf_counter()
        listed = len(reader.read_all().threads)
        cold.append(time.perf_counter() - t0)
        reader.close()
    reader = open_reader()
    reader.read_all()
    t0 = time.perf_counter()
    for _ in range(polls):
        assert reader.poll() is None
    unchanged = (time.perf_counter() - t0) / polls
    seen = []
    pause, remove = pauser
    for i in range(pauses):
        tid = pause(i)
        t0 = time.perf_counter()
        result = reader.poll()
        seen.append(time.perf_counter() - t0)
        assert result is not None and tid in result.changed, "the new pause was not picked up"
        remove(tid)
        reader.poll()
    reader.close()
    return {"cold_s": statistics.median(cold), "cold_min_s": min(cold), "unchanged_us": unchanged * 1e6,
            "listed": listed, "new_pause_ms": statistics.mean(seen) * 1e3, "new_pause_max_ms": max(seen) * 1e3}


def run(dsn: str, args: argparse.Namespace) -> None:
    from reader_bench import db_path, reader_config

    from hitl_tui.checkpoints.postgres.store import PostgresStore
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.checkpoints.store_reader import StoreReader

    t0 = time.perf_counter()
    if not built(dsn):
        build_postgres(dsn, args.threads, args.mix)
    print(f"Postgres data ready in {time.perf_counter() - t0:.1f} s: {counts(dsn)}", file=sys.stderr, flush=True)
    sqlite_path = db_path(args.threads, False, args.mix)
    config = reader_config()
    pg = measure(lambda: StoreReader(PostgresStore(dsn), config), args.runs, args.polls,
                 new_pause_postgres(dsn), args.pauses)
    lite = measure(lambda: CheckpointReader(sqlite_path, config), args.runs, args.polls,
                   new_pause_sqlite(sqlite_path), args.pauses)
    where = "given database" if args.dsn else f"throwaway server, shared_buffers={args.shared_buffers}"
    print(f"{args.threads:,} threads, {args.mix} mix; median of {args.runs} cold reads, {args.polls} polls; {where}")
    print(f"{'':24}{'Postgres':>14}{'SQLite':>14}")
    print(f"{'listed threads':24}{pg['listed']:>14,}{lite['listed']:>14,}")
    print(f"{'cold read_all (median)':24}{pg['cold_s']:>13.3f}s{lite['cold_s']:>13.3f}s")
    print(f"{'cold read_all (best)':24}{pg['cold_min_s']:>13.3f}s{lite['cold_min_s']:>13.3f}s")
    print(f"{'unchanged re-check':24}{pg['unchanged_us']:>12.1f}us{lite['unchanged_us']:>12.1f}us")
    print(f"{'poll after a new pause':24}{pg['new_pause_ms']:>12.1f}ms{lite['new_pause_ms']:>12.1f}ms")
    print(f"{'  (worst)':24}{pg['new_pause_max_ms']:>12.1f}ms{lite['new_pause_max_ms']:>12.1f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--mix", default="realistic")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--polls", type=int, default=2000)
    parser.add_argument("--pauses", type=int, default=10, help="new pauses written while a reader polls")
    parser.add_argument("--dsn", help="an existing empty database (default: start a throwaway server)")
    parser.add_argument("--shared-buffers", default="128MB",
                        help="the throwaway server's shared_buffers (PostgreSQL's default: 128MB)")
    args = parser.parse_args()
    if args.dsn:
        run(args.dsn, args)
        return
    from pg_server import fresh_database, running_server, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        sys.exit("no PostgreSQL server installed (apt-get install postgresql), and no --dsn given")
    with running_server(bin_dir, {"shared_buffers": args.shared_buffers}) as admin:
        run(fresh_database(admin, "bench"), args)


if __name__ == "__main__":
    main()
