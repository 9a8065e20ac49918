"""Reader benchmark: list the paused threads of a 100,000-thread LangGraph checkpoint DB, cold and incrementally.

    uv run --frozen python bench/reader_bench.py                  # 100,000 threads (builds the DB once: minutes)
    uv run --frozen python bench/reader_bench.py --threads 2000   # a quick run

The DB is cached in bench/.cache/ (gitignored). It is built by running real LangGraph graphs once per kind of
thread (bench/bench_graphs.py: HITL payload, middleware batch, per-call Send tasks, parallel interrupts, a
subgraph interrupt, a static breakpoint, a failed node), then copying their rows under new thread ids with SQL.
--mix realistic (default): of every 120 threads 113 finished, 6 paused (one in each pause style, 5%) and 1 failed;
--mix heavy: of every 40 threads 33 finished, 6 paused (15%) and 1 failed. 100,000 threads give about 450k
checkpoints and 950k writes (the counts are printed).

Figures (each measured in a fresh subprocess so one phase's caches and memory don't flatter another):
- cold: `CheckpointReader(db).read_all()` on a new reader (median of --runs, file in the OS cache); wall clock
  and CPU time (the machine may be shared: the load average is printed). From 50,000 checkpoints on, the reader
  shares a cold read with a child process, chunk by chunk (hitl_tui/checkpoints/split_read.py); its CPU time is
  included.
- raw pass: the SQL naming each thread's latest root checkpoint, every `__interrupt__` write, and a plain msgpack
  decode of those (nothing classified); cold / raw is the issue's ratio.
- exact floor: the part of a cold read no exact answer can skip (latest checkpoints with their blobs, the byte
  check, the writes at the unfinished ones, a plain decode), on one core; half of it is the best a perfect split on
  two cores could do, so naive / that half bounds what any exact reader could reach on the file.
- unchanged re-check: mean time of `poll()` when nobody wrote (over 20,000 polls).
- one new pause: another connection runs a real graph until it pauses on a new thread; then the time of
  the one `poll()` that returns it (mean and max over 20 pauses; one gc.collect() after the cold read first).
- naive: `SqliteSaver.list(None)` iterated to the end (every checkpoint decoded with JsonPlusSerializer, with
  its pending writes), plus, per thread, `SqliteSaver.get_tuple()` of its latest checkpoint (decoded, with its
  pending writes), collecting the interrupts from those writes and computing the nodes left to run from the
  decoded checkpoint (hitl_tui.checkpoints.classify.pending_tasks): what `get_state` gives, without the graph.
- peak memory of the cold read: tracemalloc peak (Python allocations), the process's peak RSS and the second
  process's peak RSS (the target applies to their sum).
Targets (2 cores): cold >= 20x faster than naive, re-check < 1 ms, new pause < 10 ms, peak memory < 300 MB.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

CACHE = HERE / ".cache"
# (kind, finished) slots, repeated over the thread ids. "realistic": of every 120 threads 113 finished, 6 paused (one
# in each pause style: 5%) and 1 failed. "heavy": of every 40, 33 finished, 6 paused (15%) and 1 failed.
_PAUSED = [(k, False) for k in ("email", "batch", "per_call", "parallel", "subgraph", "breakpoint_before")]
MIXES: dict[str, list[tuple[str, bool]]] = {
    "realistic": (
        [("email", True)] * 48 + [("breakpoint_before", True)] * 27 + [("batch", True)] * 17
        + [("parallel", True)] * 7 + [("per_call", True)] * 7 + [("subgraph", True)] * 7
        + _PAUSED + [("failing", False)]
    ),
    "heavy": (
        [("email", True)] * 14 + [("breakpoint_before", True)] * 8 + [("batch", True)] * 5 + [("parallel", True)] * 2
        + [("per_call", True)] * 2 + [("subgraph", True)] * 2 + _PAUSED + [("failing", False)]
    ),
    # A real backlog: of every 100 threads 43 paused in every payload shape (57 pending interrupts), 56 finished,
    # 1 failed; runs are short, so each thread has few checkpoints.
    "backlog": (
        [("email", False)] * 7 + [("plain", False)] * 8 + [("batch", False)] * 6 + [("per_call", False)] * 5
        + [("parallel", False)] * 4 + [("subgraph", False)] * 4 + [("nested", False)] * 4 + [("inbox", False)] * 4
        + [("breakpoint_before", False)]
        + [("email", True)] * 16 + [("plain", True)] * 10 + [("batch", True)] * 8 + [("per_call", True)] * 6
        + [("parallel", True)] * 4 + [("subgraph", True)] * 4 + [("nested", True)] * 4 + [("inbox", True)] * 4
        + [("failing", False)]
    ),
}
TARGETS = {"ratio": 20.0, "raw_ratio": 3.0, "unchanged_us": 1000.0, "new_pause_ms": 10.0, "peak_mb": 300.0}


# What config.toml would say about the bench graphs (bench_graphs.breakpoint_before): no LangGraph import needed.
BREAKPOINTS = {"breakpoint_before": ["execute"]}


def reader_config() -> Any:
    from hitl_tui.config import Config, GraphConfig

    return Config(graphs={k: GraphConfig(name=k, interrupt_before=tuple(v)) for k, v in BREAKPOINTS.items()})


# -- building the DB -------------------------------------------------------------------------------------------


def build(n: int, path: Path, mix: str) -> None:
    """Run each template once, copy its rows under n new thread ids, and switch the file to WAL like SqliteSaver."""
    from bench_graphs import run_template
    from langgraph.checkpoint.sqlite import SqliteSaver

    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
        leftover.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp, check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    slots = MIXES[mix]
    templates = sorted(set(slots))
    for kind, finish in templates:
        run_template(saver, kind, finish, f"template-{kind}-{'done' if finish else 'open'}")
    conn.close()
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.execute("CREATE TEMP TABLE slots (k INTEGER PRIMARY KEY, template TEXT)")
    conn.executemany(
        "INSERT INTO slots VALUES (?, ?)",
        [(i, f"template-{kind}-{'done' if finish else 'open'}") for i, (kind, finish) in enumerate(slots)],
    )
    numbers = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
    # Thread ids look like uuids and are scattered, so key order does not follow the template pattern.
    new_id = "printf('%08x-%04x-4000-8000-%012d', (n.i * 2654435761) % 4294967296, n.i % 65536, n.i)"
    for table, cols in (
        ("checkpoints", "checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"),
        ("writes", "checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value"),
    ):
        copied = ", ".join("t." + c.strip() for c in cols.split(","))
        conn.execute(
            f"{numbers} INSERT INTO {table} (thread_id, {cols}) SELECT {new_id}, {copied} "
            f"FROM n JOIN slots AS s ON s.k = n.i % {len(slots)} JOIN {table} AS t ON t.thread_id = s.template "
            "ORDER BY n.i, t.rowid",
            (n,),
        )
    conn.execute("DELETE FROM checkpoints WHERE thread_id LIKE 'template-%'")
    conn.execute("DELETE FROM writes WHERE thread_id LIKE 'template-%'")
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    tmp.rename(path)


def db_path(n: int, rebuild: bool, mix: str = "realistic") -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"threads-{n}-{mix}.db"
    if rebuild or not path.exists():
        for old in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            old.unlink(missing_ok=True)
        t0 = time.perf_counter()
        print(f"building {path} ({n:,} threads, {mix} mix) ...", file=sys.stderr, flush=True)
        build(n, path, mix)
        print(f"built in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return path


# -- phases (each runs in its own process) ---------------------------------------------------------------------


def phase_counts(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = {
        "threads": conn.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()[0],
        "checkpoints": conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0],
        "writes": conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0],
        "file_mb": path.stat().st_size / 1e6,
    }
    conn.close()
    return out


def phase_cold(path: Path, runs: int) -> dict[str, Any]:
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.model import ThreadStatus

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    times, cpu, listed = [], [], None
    for _ in range(runs):
        t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
        reader = CheckpointReader(path, reader_config())
        result = reader.read_all()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0 + children_cpu() - k0)  # the split read's child counts too
        reader.close()
        listed = {s.value: sum(1 for t in result.threads if t.status is s) for s in ThreadStatus}
        listed["interrupts"] = sum(len(t.interrupts) for t in result.threads)
    return {"cold_s": statistics.median(times), "cold_runs_s": times, "cold_cpu_s": statistics.median(cpu),
            "listed": listed, "load_cold": os.getloadavg()[0]}


def peak_rss_mb() -> float:
    """This process's peak RSS. /proc's VmHWM starts afresh at exec; ru_maxrss can carry the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_hwm_mb(pid: int) -> float:
    """Another running process's peak RSS so far (0 once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakWatch:
    """Samples a running process's peak RSS every few ms until it exits (its /proc entry goes with it)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, vm_hwm_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def phase_memory(path: Path) -> dict[str, Any]:
    from hitl_tui.checkpoints.reader import CheckpointReader

    config = reader_config()
    base_rss = peak_rss_mb()
    reader = CheckpointReader(path, config)
    reader.read_all()
    reader.close()
    rss = peak_rss_mb()
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the split read's second process
    # Then Python's own count, in a second read (tracemalloc's bookkeeping would inflate the RSS above).
    tracemalloc.start()
    reader = CheckpointReader(path, config)
    reader.read_all()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    reader.close()
    return {"tracemalloc_peak_mb": peak / 2**20, "peak_rss_mb": rss, "rss_before_read_mb": base_rss,
            "child_peak_rss_mb": child}


def phase_poll(path: Path) -> dict[str, Any]:
    """Unchanged re-checks, then new pauses written by another connection; the DB copy is thrown away after."""
    from bench_graphs import run_template
    from langgraph.checkpoint.sqlite import SqliteSaver

    from hitl_tui.checkpoints.reader import CheckpointReader

    reader = CheckpointReader(path, reader_config())
    reader.read_all()
    # The cold read leaves its objects in Python's youngest GC generation; collect once so the first polls below
    # don't pay for promoting them (a cost of the cold read, not of a poll).
    gc.collect()
    assert reader.poll() is None
    polls = 20_000
    t0 = time.perf_counter()
    for _ in range(polls):
        reader.poll()
    unchanged_us = (time.perf_counter() - t0) / polls * 1e6
    writer = sqlite3.connect(path, check_same_thread=False)
    saver = SqliteSaver(writer)
    pauses = []
    for i in range(20):
        tid = f"bench-new-{os.getpid()}-{i}"
        run_template(saver, ("email", "per_call", "parallel", "subgraph")[i % 4], False, tid)
        t0 = time.perf_counter()
        result = reader.poll()
        pauses.append(time.perf_counter() - t0)
        assert result is not None and tid in result.changed, "the new pause was not picked up"
        for table in ("writes", "checkpoints"):  # leave the cached DB as it was
            writer.execute(f"DELETE FROM {table} WHERE thread_id = ?", (tid,))
        writer.commit()
        reader.poll()
    writer.close()
    reader.close()
    return {"unchanged_us": unchanged_us, "new_pause_ms": statistics.mean(pauses) * 1e3,
            "new_pause_max_ms": max(pauses) * 1e3}


# The physical limit, measured on the same file: the SQL naming each thread's latest root checkpoint, the SQL
# fetching every `__interrupt__` write, and a plain msgpack decode of those (extension objects left as bytes).
# Nothing is classified: exact answers cost more, and the ratio says how much more.
_RAW_LATEST = "SELECT thread_id, MAX(checkpoint_id) FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id"
_RAW_INTERRUPTS = "SELECT thread_id, checkpoint_id, value FROM writes WHERE channel = '__interrupt__'"


def phase_raw(path: Path, runs: int) -> dict[str, Any]:
    import ormsgpack

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    gc.disable()  # as the reader does: this pass only allocates acyclic data
    times, parts = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        latest = conn.execute(_RAW_LATEST).fetchall()
        t1 = time.perf_counter()
        writes = conn.execute(_RAW_INTERRUPTS).fetchall()
        t2 = time.perf_counter()
        decoded = [ormsgpack.unpackb(v, ext_hook=lambda code, data: data) for _, _, v in writes if v]
        t3 = time.perf_counter()
        times.append(t3 - t0)
        parts.append((t1 - t0, t2 - t1, t3 - t2))
        del latest, writes, decoded
    conn.close()
    best = min(range(runs), key=lambda i: times[i])
    return {"raw_s": statistics.median(times), "raw_runs_s": times, "raw_latest_s": parts[best][0],
            "raw_interrupts_s": parts[best][1], "raw_decode_s": parts[best][2], "load_raw": os.getloadavg()[0]}


# What an exact answer can't skip, timed on one core with nothing else: each thread's latest root checkpoint with
# its blob (only its contents tell a finished thread from one stopped at a breakpoint or stalled), the byte check
# that leaves the finished ones undecoded, the writes at the latest checkpoint of every other thread (which task
# finished, which waits), and a plain decode of those checkpoints, interrupt values and metadata. No row marks, no
# classification, no objects built, nothing sent between processes. Half of it is what a perfect split on two
# cores would still spend: the most any exact reader could reach on this file.
def phase_floor(path: Path, runs: int) -> dict[str, Any]:
    import ormsgpack

    from hitl_tui.checkpoints import reader as r
    from hitl_tui.checkpoints.prefilter import msgpack_may_have_tasks

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    gc.disable()
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        conn.execute("BEGIN")
        rows = conn.execute(r._BLOBS.format(latest=r._LATEST_ALL)).fetchall()
        kept = [row for row in rows if not row[6] or msgpack_may_have_tasks(row[6])]
        writes = []
        for i in range(0, len(kept), r._BATCH):
            pairs = json.dumps([[row[1], row[2]] for row in kept[i : i + r._BATCH]])
            writes += conn.execute(r._WRITES_AT, (pairs,)).fetchall()
        as_bytes = {"ext_hook": lambda code, data: data}
        decoded = [ormsgpack.unpackb(row[6], **as_bytes) for row in kept if row[6]]
        decoded += [ormsgpack.unpackb(w[6], **as_bytes) for w in writes if w[6]]
        decoded += [json.loads(row[5]) for row in kept if row[5]]
        conn.execute("COMMIT")
        times.append(time.process_time() - t0)
        del rows, kept, writes, decoded
    conn.close()
    return {"floor_cpu_s": statistics.median(times), "load_floor": os.getloadavg()[0]}


def phase_json(path: Path, runs: int) -> dict[str, Any]:
    """`hitl-tui list --json` (compact) and `--jsonl` end to end, each in its own process, output to a file."""
    path = path.resolve()
    config = path.with_suffix(".bench.toml")
    config.write_text("".join(f"[graphs.{k}]\ninterrupt_before = {json.dumps(v)}\n" for k, v in BREAKPOINTS.items()))
    out: dict[str, Any] = {}
    for form in ("--json", "--jsonl"):
        times, first, sizes, rss = [], [], [], []
        for _ in range(runs):
            with open(path.with_suffix(".bench.out"), "wb") as sink:
                t0 = time.perf_counter()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "hitl_tui", "list", form, "--db", str(path), "--config", str(config)],
                    stdout=subprocess.PIPE, cwd=HERE,
                )
                peak = PeakWatch(proc.pid)
                assert proc.stdout is not None
                line = proc.stdout.readline()
                first.append(time.perf_counter() - t0)
                sink.write(line)
                while chunk := proc.stdout.read1(1 << 16):
                    sink.write(chunk)
                assert proc.wait() == 0, f"list {form} failed"
                times.append(time.perf_counter() - t0)
                rss.append(peak.stop())
                sizes.append(sink.tell())
        key = form.strip("-")
        out[f"{key}_s"] = statistics.median(times)
        out[f"{key}_first_line_s"] = statistics.median(first)
        out[f"{key}_mb"] = sizes[0] / 1e6
        out[f"{key}_peak_rss_mb"] = max(rss)
    path.with_suffix(".bench.out").unlink(missing_ok=True)
    config.unlink(missing_ok=True)
    return out


def phase_naive(path: Path) -> dict[str, Any]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    from hitl_tui.checkpoints.classify import pending_tasks

    saver = SqliteSaver(sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False))
    c0 = time.process_time()
    t0 = time.perf_counter()
    threads: set[str] = set()
    checkpoints = 0
    for item in saver.list(None):
        threads.add(item.config["configurable"]["thread_id"])
        checkpoints += 1
    list_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    paused = interrupts = waiting = 0
    for tid in threads:
        latest = saver.get_tuple({"configurable": {"thread_id": tid}})
        found = [w for w in latest.pending_writes or [] if w[1] == "__interrupt__"] if latest else []
        interrupts += sum(len(w[2]) for w in found)
        paused += bool(found)
        # What get_state adds: the nodes left to run (needed to see breakpoints and stalled runs at all).
        waiting += bool(latest and pending_tasks(latest.checkpoint))
    per_thread_s = time.perf_counter() - t0
    return {"naive_cpu_s": time.process_time() - c0, "load_naive": os.getloadavg()[0], "naive_list_s": list_s,
            "naive_per_thread_s": per_thread_s, "naive_s": list_s + per_thread_s,
            "naive_checkpoints": checkpoints, "naive_threads": len(threads), "naive_paused": paused,
            "naive_with_next": waiting,
            "naive_interrupts": interrupts}


PHASES = {"counts": phase_counts, "cold": phase_cold, "raw": phase_raw, "memory": phase_memory, "poll": phase_poll,
          "json": phase_json, "naive": phase_naive,
          "floor": phase_floor}


# Reads the DB file (and its WAL) through the OS cache in a process of its own, which opens no SQLite connection
# (a plain open() and close() of the file in a process holding one would drop that connection's locks).
_WARM = "import sys\nfor name in sys.argv[1:]:\n    with open(name, 'rb') as f:\n        while f.read(1 << 22): pass"


def warm_file(path: Path) -> None:
    """Put the DB in the OS cache: a machine that evicted it meanwhile would time the disk, not the reader."""
    files = [str(f) for f in (path, Path(f"{path}-wal")) if f.exists()]
    subprocess.run([sys.executable, "-c", _WARM, *files], check=False)


def run_phase(name: str, path: Path, runs: int) -> dict[str, Any]:
    warm_file(path)
    cmd = [sys.executable, __file__, "--phase", name, "--db", str(path), "--runs", str(runs)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(r: dict[str, Any]) -> str:
    ratio = r["naive_s"] / r["cold_s"] if r.get("naive_s") else None
    peak = max(r["tracemalloc_peak_mb"], r["peak_rss_mb"] + r["child_peak_rss_mb"])
    raw_ratio = r["cold_s"] / r["raw_s"]
    ok = {
        "ratio": ratio is None or ratio >= TARGETS["ratio"],
        "raw_ratio": raw_ratio <= TARGETS["raw_ratio"],
        "unchanged": r["unchanged_us"] < TARGETS["unchanged_us"],
        "pause": r["new_pause_ms"] < TARGETS["new_pause_ms"],
        "memory": peak < TARGETS["peak_mb"],
    }
    mark = {True: "ok", False: "MISSED"}
    lines = [
        f"DB: {r['mix']} mix, {r['threads']:,} threads, {r['checkpoints']:,} checkpoints, {r['writes']:,} writes, "
        f"{r['file_mb']:.0f} MB",
        f"listed: {r['listed']}",
        f"cold read_all():            {r['cold_s'] * 1e3:9.1f} ms  (runs: "
        + ", ".join(f"{t * 1e3:.0f}" for t in r["cold_runs_s"]) + f" ms; CPU {r['cold_cpu_s'] * 1e3:.0f} ms; "
        f"load average {r['load_cold']:.1f})",
        f"raw SQL + decode pass:      {r['raw_s'] * 1e3:9.1f} ms  (latest root checkpoints "
        f"{r['raw_latest_s'] * 1e3:.0f} ms, every __interrupt__ write {r['raw_interrupts_s'] * 1e3:.0f} ms, msgpack "
        f"{r['raw_decode_s'] * 1e3:.0f} ms; load average {r['load_raw']:.1f})",
        f"cold / raw pass:            {raw_ratio:9.2f} x   [{mark[ok['raw_ratio']]}, target <= 3 x]",
        f"exact floor, one core:      {r['floor_cpu_s'] * 1e3:9.1f} ms  (what no exact read can skip: latest "
        f"checkpoints with blobs, byte check, their writes, plain decode; load average {r['load_floor']:.1f})",
        f"  half of it (two cores):   {r['floor_cpu_s'] / 2 * 1e3:9.1f} ms  = "
        f"{r['floor_cpu_s'] / 2 / r['raw_s']:.2f} x the raw pass, before any thread is classified",
        f"unchanged poll():           {r['unchanged_us']:9.2f} us  [{mark[ok['unchanged']]}, target < 1000 us]",
        f"one new pause, poll():      {r['new_pause_ms']:9.2f} ms  (max {r['new_pause_max_ms']:.2f} ms) "
        f"[{mark[ok['pause']]}, target < 10 ms]",
    ]
    if ratio is not None:
        lines += [
            f"naive SqliteSaver.list(None): {r['naive_list_s']:7.2f} s  ({r['naive_checkpoints']:,} checkpoints)",
            f"naive get_tuple per thread:   {r['naive_per_thread_s']:7.2f} s  ({r['naive_threads']:,} threads, "
            f"{r['naive_paused']:,} with interrupts, {r['naive_with_next']:,} with nodes left to run)",
            f"naive total:                  {r['naive_s']:7.2f} s  (CPU {r['naive_cpu_s']:.2f} s; load average "
            f"{r['load_naive']:.1f})",
            f"naive / cold:               {ratio:9.1f} x   [{mark[ok['ratio']]}, target >= 20 x] "
            f"(by CPU time: {r['naive_cpu_s'] / r['cold_cpu_s']:.1f} x)",
            f"naive / half the floor:     {r['naive_s'] / (r['floor_cpu_s'] / 2):9.1f} x   (the most any exact reader "
            "on two cores could reach)",
        ]
    if "json_s" in r:
        lines += [
            f"list --json (compact):      {r['json_s'] * 1e3:9.1f} ms  ({r['json_mb']:.0f} MB, peak RSS "
            f"{r['json_peak_rss_mb']:.0f} MB)",
            f"list --jsonl:               {r['jsonl_s'] * 1e3:9.1f} ms  (first line after "
            f"{r['jsonl_first_line_s'] * 1e3:.0f} ms, peak RSS {r['jsonl_peak_rss_mb']:.0f} MB)",
        ]
    lines.append(
        f"cold read peak memory:      tracemalloc {r['tracemalloc_peak_mb']:.1f} MB, process peak RSS "
        f"{r['peak_rss_mb']:.1f} MB ({r['rss_before_read_mb']:.1f} MB before the read) + second process "
        f"{r['child_peak_rss_mb']:.1f} MB [{mark[ok['memory']]}, target < 300 MB for the sum]"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100_000, help="threads in the DB (default 100,000)")
    parser.add_argument("--runs", type=int, default=3, help="cold reads to take the median of (default 3)")
    parser.add_argument("--mix", choices=sorted(MIXES), default="realistic",
                        help="realistic: 5%% of threads paused (default); heavy: 15%%; "
                        "backlog: 43%% in every payload shape, few checkpoints per thread")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached DB")
    parser.add_argument("--skip-naive", action="store_true", help="don't time the naive way (it takes a while)")
    parser.add_argument("--skip-json", action="store_true", help="don't time `hitl-tui list --json/--jsonl`")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        fn = PHASES[args.phase]
        out = fn(args.db, args.runs) if args.phase in ("cold", "raw", "json", "floor") else fn(args.db)
        print(json.dumps(out))
        return
    path = db_path(args.threads, args.rebuild, args.mix)
    results: dict[str, Any] = {"mix": args.mix}
    phases = ("counts", "raw", "floor", "cold", "memory", "poll") + (() if args.skip_json else ("json",))
    for name in phases + (() if args.skip_naive else ("naive",)):
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results.update(run_phase(name, path, args.runs))
    print(json.dumps(results, indent=2) if args.json else report(results))


if __name__ == "__main__":
    main()
