"""Several real processes appending at once keep one valid chain; event ids are logged once; kills are safe."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

from hitl_tui.audit import AuditLog, iter_records, verify

REPO = Path(__file__).resolve().parents[1]

# A separate interpreter per appender: no shared memory, only the files and the lock.
_APPENDER = r"""
import json, os, random, sys, time
from pathlib import Path
from hitl_tui.audit import AuditLog
path, worker, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
event_ids = json.loads(sys.argv[4])
log = AuditLog(path)
print("ready", flush=True)
deadline = time.monotonic() + 60
while not go.exists():  # start together so the appends really interleave
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.001)
for n, event_id in enumerate(event_ids):
    rec = log.append({"event": "decision", "thread_id": f"t-{event_id}", "text": f"{worker} #{n}"},
                     event_id=event_id)
    print(json.dumps({"event_id": rec["event_id"], "seq": rec["seq"], "hash": rec["hash"]}), flush=True)
"""


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}


def _run_appenders(path: Path, go: Path, plans: list[list[str]]) -> list[list[dict]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, str(path), f"w{i}", str(go), json.dumps(ids)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, ids in enumerate(plans)
    ]
    for p in procs:  # all imported and waiting before any starts
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append([json.loads(line) for line in out.splitlines()])
    return results


def test_four_processes_appending_keep_one_contiguous_chain(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    per_worker = 200
    plans = [[f"w{w}-{n}" for n in range(per_worker)] for w in range(4)]
    results = _run_appenders(path, tmp_path / "go", plans)

    report = verify(path)
    assert report.ok, report.reason
    records = list(iter_records(path))
    assert [r["seq"] for r in records] == list(range(1, 4 * per_worker + 1))
    assert sorted(r["event_id"] for r in records) == sorted(i for plan in plans for i in plan)
    by_id = {r["event_id"]: r for r in records}
    for plan, got in zip(plans, results, strict=True):
        assert [g["event_id"] for g in got] == plan
        assert all(by_id[g["event_id"]]["hash"] == g["hash"] for g in got)  # what append returned is on disk
        seqs = [g["seq"] for g in got]
        assert seqs == sorted(seqs)  # one writer's records keep its order
    # The appends really interleaved (otherwise this test would prove nothing about the lock).
    owners = [r["text"].split()[0] for r in records]
    switches = sum(1 for a, b in pairwise(owners) if a != b)
    assert switches > 3


def test_same_event_ids_from_four_processes_are_logged_once(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    ids = [f"decision:{n}" for n in range(100)]
    plans = []
    for w in range(4):
        order = list(ids)
        random.Random(w).shuffle(order)
        plans.append(order)
    results = _run_appenders(path, tmp_path / "go", plans)

    assert verify(path).ok
    records = list(iter_records(path))
    assert len(records) == len(ids)
    assert sorted(r["event_id"] for r in records) == sorted(ids)
    on_disk = {r["event_id"]: r["hash"] for r in records}
    for got in results:
        assert {g["event_id"]: g["hash"] for g in got} == on_disk  # every process saw the one record


_LOOPER = r"""
import sys
from hitl_tui.audit import AuditLog
log = AuditLog(sys.argv[1])
print("ready", flush=True)
n = 0
while True:
    n += 1
    log.append({"event": "decision", "text": "x" * (n % 50)}, event_id=f"{sys.argv[2]}-{n}")
"""


def test_killing_an_appender_at_random_moments_leaves_a_valid_log(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    rng = random.Random(1234)
    for trial in range(10):
        proc = subprocess.Popen(
            [sys.executable, "-c", _LOOPER, str(path), f"trial{trial}"],
            env=_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.01, 0.15))  # a random moment inside the append loop
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        report = verify(path)
        assert report.ok, f"after kill {trial}: {report.reason}"
        # The next writer carries on from whatever state the kill left.
        AuditLog(path).append({"event": "outcome", "text": f"after kill {trial}"})
    records = list(iter_records(path))
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert len(records) > 10
    assert verify(path).ok
