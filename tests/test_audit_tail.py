"""AuditTail shows each record once through partial lines, corruption, truncation and rotation by rename."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hitl_tui.audit import (
    EVENT_CONTINUED,
    UNPARSEABLE,
    AuditLog,
    AuditTail,
    format_record,
    iter_records,
    verify,
)
from hitl_tui.identity import Operator

REPO = Path(__file__).resolve().parents[1]


def _append(log: AuditLog, n: int, tag: str = "r") -> list[dict]:
    return [log.append({"event": "decision", "thread_id": f"{tag}{i}", "decision": "approve"}) for i in range(n)]


def _seqs(items: list[dict]) -> list[int]:
    return [r["seq"] for r in items]


def test_missing_file_then_created(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    tail = AuditTail(path)
    assert tail.read_new() == []
    log = AuditLog(path)
    _append(log, 3)
    assert _seqs(tail.read_new()) == [1, 2, 3]
    assert tail.read_new() == []
    _append(log, 2)
    assert _seqs(tail.read_new()) == [4, 5]


def test_unreadable_log_sets_an_error_instead_of_raising(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.mkdir()  # reading a directory fails even for root
    tail = AuditTail(path)
    assert tail.read_new() == []
    assert tail.error is not None and str(path) in tail.error
    path.rmdir()
    AuditLog(path).append({"event": "x"})
    assert _seqs(tail.read_new()) == [1]
    assert tail.error is None


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = AuditLog(path)
    _append(log, 1)
    line = (json.dumps({"seq": 2, "event": "x"}) + "\n").encode()
    tail = AuditTail(path)
    assert _seqs(tail.read_new()) == [1]
    with open(path, "ab") as fh:
        fh.write(line[:7])
    assert tail.read_new() == []
    with open(path, "ab") as fh:
        fh.write(line[7:])
    assert tail.read_new() == [{"seq": 2, "event": "x"}]


def test_corrupt_lines_come_back_marked(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_bytes(b'{"seq":1,"event":"x"}\nnot json \x1b[2J\n[1,2]\n\xff\xfe\n{"seq":5,"event":"y"}\n')
    items = AuditTail(path).read_new()
    assert [i["event"] for i in items] == ["x", UNPARSEABLE, UNPARSEABLE, UNPARSEABLE, "y"]
    assert items[1]["raw"] == "not json \x1b[2J" and items[1]["offset"] == 22
    assert items[2]["error"] == "not a JSON object"
    assert items[3]["raw"] == "\ufffd\ufffd"


def test_nothing_new_costs_no_reads(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = AuditLog(path, durable=False)
    _append(log, 500)
    tail = AuditTail(path)
    assert len(tail.read_new()) == 500

    def bytes_read() -> int:
        fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
        return int(fields["rchar"])

    before = bytes_read()
    started = time.perf_counter()
    for _ in range(2000):
        assert tail.read_new() == []
    per_call = (time.perf_counter() - started) / 2000
    read = bytes_read() - before
    assert read < 2000  # only the /proc/self/io read itself; a poll reads nothing from the log
    assert per_call < 0.001


def test_truncation_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = AuditLog(path)
    _append(log, 5)
    tail = AuditTail(path)
    assert _seqs(tail.read_new()) == [1, 2, 3, 4, 5]
    os.truncate(path, 0)  # copytruncate
    assert tail.read_new() == []
    _append(log, 2)
    items = tail.read_new()
    assert [i["event"] for i in items] == [EVENT_CONTINUED, "decision", "decision"]
    assert _seqs(items) == [6, 7, 8]
    assert tail.restarts == 1


def test_truncation_noticed_even_after_the_file_grew_back_past_the_old_offset(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = AuditLog(path)
    _append(log, 3)
    tail = AuditTail(path)
    assert _seqs(tail.read_new()) == [1, 2, 3]
    old_size = path.stat().st_size
    os.truncate(path, 0)
    _append(log, 8, tag="long-thread-name-")
    assert path.stat().st_size > old_size  # size alone cannot reveal the truncation
    assert _seqs(tail.read_new()) == list(range(4, 13))  # the marker (seq 4) and 8 records


def test_rotation_by_rename_finishes_the_old_file_then_follows_the_new(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = AuditLog(path, operator=Operator.policy("logrotate"))
    _append(log, 3)
    tail = AuditTail(path)
    assert _seqs(tail.read_new()) == [1, 2, 3]
    _append(log, 2)  # not yet seen when the file is renamed away
    os.rename(path, tmp_path / "decisions.jsonl.1")
    assert _seqs(tail.read_new()) == [4, 5]  # read through the open descriptor; no new file yet
    assert tail.read_new() == []
    _append(log, 2)
    items = tail.read_new()
    assert _seqs(items) == [6, 7, 8] and items[0]["event"] == EVENT_CONTINUED
    _append(log, 1)
    assert _seqs(tail.read_new()) == [9]


def test_rotation_with_unread_records_and_a_new_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = AuditLog(path)
    _append(log, 2)
    tail = AuditTail(path)
    assert _seqs(tail.read_new()) == [1, 2]
    _append(log, 2)
    os.rename(path, tmp_path / "old")
    _append(log, 2)
    assert _seqs(tail.read_new()) == [3, 4, 5, 6, 7]


def test_backlog_starts_with_the_last_lines(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = AuditLog(path)
    _append(log, 10)
    tail = AuditTail(path, backlog=3)
    assert _seqs(tail.read_new()) == [8, 9, 10]
    _append(log, 1)
    assert _seqs(tail.read_new()) == [11]
    assert _seqs(AuditTail(path, backlog=50).read_new()) == list(range(1, 12))
    assert AuditTail(path, backlog=0).read_new() == []


_WRITER = r"""
import random, sys, time
from hitl_tui.audit import AuditLog
log = AuditLog(sys.argv[1])
rng = random.Random(sys.argv[2])
for n in range(int(sys.argv[3])):
    log.append({"event": "decision", "text": f"{sys.argv[2]}-{n}"})
    time.sleep(rng.uniform(0, 0.0005))
"""


def _start_writers(path: Path, count: int, per_writer: int) -> list[subprocess.Popen[bytes]]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
    return [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"w{i}", str(per_writer)], env=env)
        for i in range(count)
    ]


def _poll_while(
    procs: list[subprocess.Popen[bytes]], tail: AuditTail, seen: list[dict], act: Callable[[list[dict]], None]
) -> None:
    deadline = time.monotonic() + 120
    while any(p.poll() is None for p in procs):
        assert time.monotonic() < deadline, "writers did not finish"
        seen.extend(tail.read_new())
        act(seen)
    for p in procs:
        assert p.wait() == 0
    seen.extend(tail.read_new())


ROTATIONS = 8


@pytest.mark.parametrize("create", [False, True], ids=["rename", "rename+create"])
def test_rotation_by_rename_while_processes_append_loses_and_repeats_nothing(tmp_path: Path, create: bool) -> None:
    # With `create` the rotator makes the new empty file at once (logrotate's `create`), so the tail
    # switches while an append to the old file may still be in flight: only the shared lock saves it.
    path = tmp_path / "decisions.jsonl"
    procs = _start_writers(path, 2, 300)
    tail = AuditTail(path)
    seen: list[dict] = []
    rotations: list[int] = []

    def rotate(seen: list[dict]) -> None:
        if len(rotations) < ROTATIONS and len(seen) >= 60 * (len(rotations) + 1):
            for n in range(len(rotations), 0, -1):
                os.rename(f"{path}.{n}", f"{path}.{n + 1}")
            os.rename(path, f"{path}.1")
            if create:
                path.touch()
            rotations.append(len(seen))

    _poll_while(procs, tail, seen, rotate)
    assert len(rotations) == ROTATIONS, "the writers finished before every rotation happened"
    assert all(item["event"] != "unparseable" for item in seen)
    files = [path] + [Path(f"{path}.{n}") for n in range(1, ROTATIONS + 1)]
    on_disk = sorted((r for f in files for r in iter_records(f)), key=lambda r: r["seq"])
    assert _seqs(seen) == _seqs(on_disk) == list(range(1, 600 + ROTATIONS + 1))  # + a marker per rotation
    assert [r["hash"] for r in seen] == [r["hash"] for r in on_disk]
    assert all(verify(f).ok for f in files)


def test_coordinated_copytruncate_while_processes_append_repeats_nothing(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    procs = _start_writers(path, 2, 200)
    tail = AuditTail(path)
    seen: list[dict] = []
    truncations: list[int] = []

    def copytruncate(seen: list[dict]) -> None:
        if len(truncations) < 2 and len(seen) >= 100 * (len(truncations) + 1):
            # Like logrotate's copytruncate, but holding the writers' lock so no record is lost.
            with open(f"{path}.lock", "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                shutil.copyfile(path, f"{path}.{len(truncations) + 1}")
                os.truncate(path, 0)
            truncations.append(len(seen))

    _poll_while(procs, tail, seen, copytruncate)
    assert len(truncations) == 2
    seqs = _seqs(seen)
    assert seqs == sorted(set(seqs))  # nothing shown twice, order kept
    final = list(iter_records(path))
    assert _seqs(final) == seqs[-len(final) :]  # everything in the current file was shown
    every = {r["seq"]: r["hash"] for f in (path, Path(f"{path}.1"), Path(f"{path}.2")) for r in iter_records(f)}
    assert sorted(every) == list(range(1, 400 + 2 + 1))
    assert all(every[r["seq"]] == r["hash"] for r in seen)  # nothing shown that is not in the files


def test_format_record_is_one_readable_line() -> None:
    rec = {
        "seq": 12,
        "ts": "2025-05-01T09:00:03.123456Z",
        "event": "decision",
        "actor": {"user": "alice", "host": "box", "uid": 1000},
        "host": "box",
        "decision": "reject",
        "thread_id": "t-9",
        "action": "send_email",
        "text": "too risky",
        "outcome": None,
    }
    line = "#12 2025-05-01 09:00:03Z alice@box decision reject thread=t-9 action=send_email 'too risky'"
    assert format_record(rec) == line
    outcome = {"seq": 13, "ts": "2025-05-01T09:00:04.000000Z", "event": "outcome", "thread_id": "t-9",
               "outcome": "failed", "error": "ValueError: x", "actor": None, "host": "w1"}
    line = "#13 2025-05-01 09:00:04Z ?@w1 outcome thread=t-9 outcome=failed error=ValueError: x"
    assert format_record(outcome) == line
    bad = {"event": UNPARSEABLE, "raw": "garbage", "error": "not valid JSON", "offset": 40}
    assert format_record(bad) == "?? unparseable line at byte 40: not valid JSON: garbage"
    assert format_record({}) == "#- - ?@? -"
    assert "\n" not in format_record({"seq": 1, "event": "x", "text": "two\nlines"})
