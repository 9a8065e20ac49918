"""What exactly-once costs: approving and resuming N paused threads through hitl-tui vs plain LangGraph.

Both sides start from identical copies of one checkpoint DB holding N paused email-agent threads (the demo's
HITL agent; its `send` node appends one fsynced outbox line per execution).

- hitl-tui:  `DecisionDesk.decide(thread, interrupt, [approve], flush=False)` with the in-process resumer, then
             `flush_audit_if_due`, as the console's decision thread does: compare-and-set decision and claim
             (BEGIN IMMEDIATE, synchronous=FULL), phase mark, resume, outcome, and the audit records appended
             to the hash-chained log (fsync) once per burst.
- direct:    `graph.invoke(Command(resume={interrupt_id: {"decision": "approve"}}), config)` on the copy.

Run: uv run --frozen python bench/decisions_bench.py [--threads 1000] [--dir /some/disk] [--profile]
Prints both times, the per-decision cost and the overhead ratio (target: under 1.3x).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.decisions.decision import Decision
from hitl_tui.demo import prepare_demo, read_outbox
from hitl_tui.demo.runner import build_demo_graph, open_saver
from hitl_tui.identity import current_operator
from hitl_tui.model import DecisionKind

GRAPH = "email_agent"


def prepare(folder: Path, threads: int) -> tuple[Path, Path]:
    """Two identical demo directories with `threads` paused email-agent threads each."""
    env = prepare_demo(folder / "hitl", threads_per_agent=0)
    for _ in range(threads):
        env.start(GRAPH)
    env.close()  # the last connection closing checkpoints the WAL into the main file
    shutil.copytree(folder / "hitl", folder / "direct")
    return folder / "hitl", folder / "direct"


def paused(directory: Path) -> list[Any]:
    from hitl_tui.config import load_config

    config = load_config(directory / "config.toml")
    reader = CheckpointReader(directory / "checkpoints.db", config)
    try:
        return [t for t in reader.read_all().threads if t.interrupts]
    finally:
        reader.close()


class HitlSide:
    """The console's path: one DecisionDesk, deciding and resuming in this process."""

    def __init__(
        self, directory: Path, *, audit_fsync: bool = True, flush_each: bool = False, bulk: bool = False
    ) -> None:
        from hitl_tui.audit import AuditLog
        from hitl_tui.config import load_config
        from hitl_tui.decisions.desk import DecisionDesk

        config = load_config(directory / "config.toml")
        self.flush_each = flush_each
        self.bulk = bulk
        self.threads = paused(directory)
        who = current_operator(environ={})
        audit = AuditLog(config.audit_log, operator=who, durable=audit_fsync)
        self.desk = DecisionDesk(config, directory / "checkpoints.db", who, audit)
        assert self.desk.resumer is not None
        self.desk.resumer.graphs.get(GRAPH)  # import and compile outside the timing, as the direct side does

    def run(self, start: int, stop: int) -> float:
        started = time.perf_counter()
        threads = self.threads[start:stop]
        if self.bulk:  # `hitl-tui approve T1 T2 ...`: one compare-and-set commit for the whole chunk
            results = self.desk.decide_bulk([(t, t.interrupts[0], [Decision(DecisionKind.APPROVE)]) for t in threads])
            for thread, result in zip(threads, results, strict=True):
                if not hasattr(result, "records") or result.records[0].state.value != "finished" or result.audit_error:
                    raise SystemExit(f"{thread.thread_id}: {result}")
            return time.perf_counter() - started
        for n, thread in enumerate(threads, 1):
            result = self.desk.decide(thread, thread.interrupts[0], [Decision(DecisionKind.APPROVE)],
                                      flush=self.flush_each)
            if result.records[0].state.value != "finished" or result.audit_error:
                raise SystemExit(f"{thread.thread_id}: {result}")
            if not self.flush_each:  # what the console's decision thread does between two decisions
                self.desk.flush_audit_if_due(idle=n == len(threads))
        return time.perf_counter() - started

    def close(self) -> None:
        self.desk.close()


class DirectSide:
    """Plain LangGraph: Command(resume=...) by interrupt id, as a script without hitl-tui would."""

    def __init__(self, directory: Path) -> None:
        self.threads = paused(directory)
        self.saver = open_saver(directory / "checkpoints.db")
        self.graph = build_demo_graph(GRAPH, self.saver)

    def run(self, start: int, stop: int) -> float:
        from langgraph.types import Command

        started = time.perf_counter()
        for thread in self.threads[start:stop]:
            resume = {thread.interrupts[0].interrupt_id: {"decision": "approve"}}
            self.graph.invoke(Command(resume=resume), {"configurable": {"thread_id": thread.thread_id}})
        return time.perf_counter() - started

    def close(self) -> None:
        self.saver.conn.close()


def race(
    hitl: HitlSide, direct: DirectSide, count: int, chunk: int, profile: cProfile.Profile | None
) -> tuple[float, float]:
    """Alternate the two sides chunk by chunk, so load from anything else on the machine hits both alike."""
    totals = [0.0, 0.0]
    for start in range(0, count, chunk):
        totals[1] += direct.run(start, start + chunk)
        if profile:
            profile.enable()
        totals[0] += hitl.run(start, start + chunk)
        if profile:
            profile.disable()
    return totals[0], totals[1]


def check(directory: Path, threads: int) -> None:
    sent = Counter(line["thread_id"] for line in read_outbox(directory / "outbox.jsonl"))
    if len(sent) != threads or set(sent.values()) != {1}:
        raise SystemExit(f"{directory.name}: expected {threads} effects, one each; got {sent.most_common(3)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None, help="folder on the disk to measure (default: a temp dir)")
    parser.add_argument("--chunk", type=int, default=50, help="threads per turn when alternating the sides")
    parser.add_argument("--no-audit-fsync", action="store_true",
                        help="diagnosis only, not a supported setting: the audit log fsync share of the overhead")
    parser.add_argument("--flush-each", action="store_true",
                        help="append the audit log after every decision (the CLI's way), not once per burst")
    parser.add_argument("--bulk", action="store_true",
                        help="decide each chunk with one bulk decision (`hitl-tui approve T1 T2 ...`)")
    parser.add_argument("--profile", action="store_true", help="print where the hitl-tui side spends its time")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="decisions-bench-", dir=args.dir))
    try:
        started = time.perf_counter()
        hitl_dir, direct_dir = prepare(folder, args.threads)
        setup = time.perf_counter() - started
        profile = cProfile.Profile() if args.profile else None
        hitl_side = HitlSide(hitl_dir, audit_fsync=not args.no_audit_fsync, flush_each=args.flush_each,
                             bulk=args.bulk)
        direct_side = DirectSide(direct_dir)
        hitl, direct = race(hitl_side, direct_side, args.threads, args.chunk, profile)
        hitl_side.close()
        direct_side.close()
        check(direct_dir, args.threads)
        check(hitl_dir, args.threads)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = {
        "threads": args.threads,
        "audit_fsync": float(not args.no_audit_fsync),
        "flush_each": float(args.flush_each),
        "bulk": float(args.bulk),
        "setup_seconds": setup,
        "direct_seconds": direct,
        "hitl_seconds": hitl,
        "direct_ms_per_thread": direct / args.threads * 1000,
        "hitl_ms_per_thread": hitl / args.threads * 1000,
        "overhead_ms_per_decision": (hitl - direct) / args.threads * 1000,
        "ratio": hitl / direct,
    }
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:12.3f}")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    if profile is not None:
        # SORT=cumtime TOP=60 to see it another way
        stats = pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime"))
        stats.print_stats(int(os.environ.get("TOP", "25")))


if __name__ == "__main__":
    main()
