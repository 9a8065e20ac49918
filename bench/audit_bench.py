"""How much the audit log costs: append latency, parallel appenders, verify speed, tail polls.

Run: uv run --frozen python bench/audit_bench.py [--records 20000] [--dir /some/disk]
Use --dir on the disk the real log will live on: fsync cost is the disk's, not Python's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hitl_tui.audit import AuditLog, AuditTail, verify
from hitl_tui.identity import current_operator

REPO = Path(__file__).resolve().parents[1]

_WORKER = r"""
import sys
from hitl_tui.audit import AuditLog
log = AuditLog(sys.argv[1])
for n in range(int(sys.argv[3])):
    log.append({"event": "decision", "decision": "approve", "thread_id": f"t{n}"}, event_id=f"{sys.argv[2]}-{n}")
"""


OPERATOR = current_operator(environ={})


def _record(n: int) -> dict[str, object]:
    return {
        "event": "decision",
        "actor": OPERATOR,
        "thread_id": f"thread-{n}",
        "checkpoint_id": "1f0c5f3e-8d0a-6b1e-8001-" + f"{n:012d}",
        "interrupt_id": f"{n:032x}",
        "action": "send_email",
        "payload_hash": f"{n:064x}",
        "decision": "approve",
        "decision_id": n,
    }


def bench_append(folder: Path, count: int, durable: bool) -> float:
    log = AuditLog(folder / f"append-{durable}.jsonl", durable=durable)
    started = time.perf_counter()
    for n in range(count):
        log.append(_record(n), event_id=f"e{n}")
    return (time.perf_counter() - started) / count


def bench_batch(folder: Path, count: int, batch: int) -> float:
    log = AuditLog(folder / "batch.jsonl")
    started = time.perf_counter()
    for start in range(0, count, batch):
        log.append_many([(_record(n), f"e{n}") for n in range(start, start + batch)])
    return (time.perf_counter() - started) / count


def bench_parallel(folder: Path, procs: int, each: int) -> float:
    path = folder / "parallel.jsonl"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(path), f"w{i}", str(each)], env=env)
        for i in range(procs)
    ]
    for w in workers:
        if w.wait() != 0:
            raise SystemExit("a parallel appender failed")
    elapsed = time.perf_counter() - started  # includes interpreter start-up
    report = verify(path)
    if not report.ok or report.records != procs * each:
        raise SystemExit(f"parallel log is wrong: {report}")
    return elapsed


def build_big_log(folder: Path, count: int) -> Path:
    path = folder / "big.jsonl"
    log = AuditLog(path, durable=False)
    for n in range(count):
        log.append(_record(n), event_id=f"e{n}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000, help="size of the log for verify/index/tail runs")
    parser.add_argument("--dir", type=Path, default=None, help="folder on the disk to measure (default: a temp dir)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="audit-bench-", dir=args.dir))
    results: dict[str, float] = {}
    try:
        results["append_ms_durable"] = bench_append(folder, 500, durable=True) * 1000
        results["append_ms_no_fsync"] = bench_append(folder, 500, durable=False) * 1000
        results["append_many_10_ms_per_record"] = bench_batch(folder, 500, 10) * 1000
        seconds = bench_parallel(folder, 4, 250)
        results["parallel_4x250_seconds"] = seconds
        results["parallel_appends_per_second"] = 1000 / seconds

        path = build_big_log(folder, args.records)
        results["log_bytes_per_record"] = path.stat().st_size / args.records
        started = time.perf_counter()
        report = verify(path)
        assert report.ok and report.records == args.records
        results["verify_records_per_second"] = args.records / (time.perf_counter() - started)

        fresh = AuditLog(path)  # a new process: its event-id index starts empty
        started = time.perf_counter()
        fresh.append(_record(0), event_id="e0")  # already there: found, nothing written
        results["first_idempotent_append_ms"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        for n in range(100):
            fresh.append(_record(n), event_id=f"new{n}")
        results["later_append_ms_on_big_log"] = (time.perf_counter() - started) * 10

        tail = AuditTail(path)
        started = time.perf_counter()
        first = tail.read_new()
        results["tail_initial_read_ms"] = (time.perf_counter() - started) * 1000
        assert len(first) == args.records + 100
        started = time.perf_counter()
        for _ in range(10000):
            tail.read_new()
        results["tail_idle_poll_us"] = (time.perf_counter() - started) / 10000 * 1e6
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:12.3f}")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))


if __name__ == "__main__":
    main()
