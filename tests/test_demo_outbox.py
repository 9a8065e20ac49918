"""The outbox: one line per execution, never interleaved across processes, never deduplicated."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from demo_fixtures import clean_env

from hitl_tui.demo.outbox import (
    OUTBOX_ENV,
    append_line,
    outbox_next_to,
    read_outbox,
    record_effect,
    resolve_outbox,
)

FIXTURES = (clean_env,)  # pytest finds fixtures by module attribute


def test_record_effect_writes_the_documented_fields(tmp_path: Path) -> None:
    config = {"configurable": {"thread_id": "t-1", "hitl_decision_id": "dec-9"}}
    line = record_effect("send_email", {"to": "a@example.com"}, config, default_outbox=tmp_path / "o.jsonl")
    assert read_outbox(tmp_path / "o.jsonl") == [line]
    assert line["effect"] == "send_email"
    assert line["thread_id"] == "t-1"
    assert line["decision_id"] == "dec-9"
    assert line["args"] == {"to": "a@example.com"}
    assert line["pid"] == os.getpid()
    assert isinstance(line["ts"], float)


def test_decision_id_falls_back_to_the_resume_value_and_duplicates_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    for _ in range(2):  # the same execution twice must show up twice: tests count on it
        record_effect(
            "transfer",
            {"amount": 1},
            {"configurable": {"thread_id": "t"}},
            default_outbox=out,
            decision_id="from-resume",
            call_id="call_0",
        )
    lines = read_outbox(out)
    assert [(x["decision_id"], x["call_id"]) for x in lines] == [("from-resume", "call_0")] * 2


def test_outbox_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "beside-db.jsonl"
    assert resolve_outbox({"configurable": {}}, default) == default
    monkeypatch.setenv(OUTBOX_ENV, str(tmp_path / "env.jsonl"))
    assert resolve_outbox(None, default) == tmp_path / "env.jsonl"
    explicit = {"configurable": {"hitl_outbox": str(tmp_path / "run.jsonl")}}
    assert resolve_outbox(explicit, default) == tmp_path / "run.jsonl"
    monkeypatch.delenv(OUTBOX_ENV)
    monkeypatch.chdir(tmp_path)
    assert resolve_outbox(None, None) == tmp_path / "outbox.jsonl"


def test_default_outbox_is_next_to_the_sqlite_file(tmp_path: Path) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from hitl_tui.demo import open_saver

    (tmp_path / "sub").mkdir()
    saver = open_saver(tmp_path / "sub" / "checkpoints.db")
    try:
        assert outbox_next_to(saver) == tmp_path / "sub" / "outbox.jsonl"
    finally:
        saver.conn.close()
    assert outbox_next_to(InMemorySaver()) is None


def test_reader_skips_an_unfinished_last_line_and_rejects_damage(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    assert read_outbox(out) == []  # missing file: nothing ran yet
    append_line(out, {"effect": "a"})
    with out.open("ab") as f:
        f.write(b'{"effect": "b", "ar')  # a writer killed mid-line
    assert [x["effect"] for x in read_outbox(out)] == ["a"]
    with out.open("ab") as f:
        f.write(b"\n")
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        read_outbox(out)


def _hammer(path: str, worker: int, count: int) -> None:
    big = "x" * 5000  # bigger than PIPE_BUF, so interleaving would show without the lock
    for i in range(count):
        append_line(Path(path), {"worker": worker, "i": i, "pad": big})


def test_racing_processes_never_interleave(tmp_path: Path) -> None:
    out = tmp_path / "race.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_hammer, args=(str(out), w, 150)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    lines = read_outbox(out)  # raises if any line were torn
    assert Counter(x["worker"] for x in lines) == {0: 150, 1: 150, 2: 150, 3: 150}
    for w in range(4):
        assert [x["i"] for x in lines if x["worker"] == w] == list(range(150))


def test_writers_wait_for_the_lock(tmp_path: Path) -> None:
    """A writer blocks while another holds the outbox lock, then appends once the lock is released."""
    out = tmp_path / "locked.jsonl"
    out.touch()
    ctx = multiprocessing.get_context("fork")
    with out.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = ctx.Process(target=_hammer, args=(str(out), 7, 1))
        proc.start()
        deadline = time.monotonic() + 0.5  # proving an absence needs a bounded wait
        while time.monotonic() < deadline:
            assert out.stat().st_size == 0, "wrote while another process held the lock"
            time.sleep(0.02)
        assert proc.is_alive()
        fcntl.flock(held, fcntl.LOCK_UN)
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert [x["worker"] for x in read_outbox(out)] == [7]
