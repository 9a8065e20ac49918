"""A cold read split over two processes gives exactly the answer of a single read, and falls back when it can't."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from reader_graphs import SHAPES, cfg, open_saver
from test_reader_conformance import config_for

from hitl_tui.checkpoints import split_read
from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.cli.listing import ListingFull
from hitl_tui.db import connect

NAMES = ("root", "parallel", "subgraph", "nested", "sends", "classic_before", "classic_after", "failing", "twice")


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split") / "checkpoints.db"
    with open_saver(path) as saver:
        for i in range(72):
            name = NAMES[i % len(NAMES)]
            with contextlib.suppress(ValueError):  # the failing shape: its thread keeps the error
                SHAPES[name].compile(saver).invoke(SHAPES[name].start, cfg(f"{i:03d}-{name}", name))
    return path


def _read(path: Path, split: bool) -> Any:
    reader = CheckpointReader(path, config_for(SHAPES[n] for n in NAMES), split=split)
    try:
        return reader.read_all().threads
    finally:
        reader.close()


def test_split_read_equals_single_read(many: Path) -> None:
    single = _read(many, split=False)
    assert len(single) > 50
    assert _read(many, split=True) == single


def _chunks(db: Path) -> list[split_read.Chunk]:
    conn = connect(db, readonly=True)
    try:
        return split_read.chunk_bounds(conn)
    finally:
        conn.close()


def test_the_chunks_cover_every_thread_once(many: Path) -> None:
    reader = CheckpointReader(many)
    chunks = _chunks(many)
    assert len(chunks) > 8 and chunks[0][0] is None and chunks[-1][1] is None
    assert all(below == following for (_, below), (following, _) in itertools.pairwise(chunks))
    parts = [reader.read_range(from_=low, below=high) for low, high in chunks]
    ids = [t.thread_id for part in parts for t in part]
    assert sum(1 for part in parts if part) > 8
    assert sorted(ids) == sorted(t.thread_id for t in _read(many, False))
    reader.close()


def _child(db: Path, reader: CheckpointReader, chunks: list[split_read.Chunk], grants: list[int],
           args: list[str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a split read's child by hand: settings, then these grants, then stop."""
    stdin = io.BytesIO()
    split_read.write_settings(stdin, reader.config, reader.breakpoints, chunks)
    stdin.write(b"".join(split_read.GRANT.pack(g) for g in [*grants, split_read.STOP]))
    return subprocess.run([sys.executable, *(args or split_read.WORKER_ARGS), str(db)], input=stdin.getvalue(),
                          capture_output=True, timeout=120, check=False)


def test_the_child_classifies_its_chunks_as_the_parent_would(many: Path) -> None:
    config = config_for(SHAPES[n] for n in NAMES)
    reader = CheckpointReader(many, config)
    chunks = _chunks(many)
    granted = [len(chunks) - 1, 3, 0]
    out = _child(many, reader, chunks, granted)
    assert out.returncode == 0
    items = list(split_read.raw_frames(io.BytesIO(out.stdout)))
    # Each chunk's threads, then its done-mark, in the order granted.
    assert [i for i in items if isinstance(i, int)] == granted
    sent = [t for batch in split_read.read_frames(io.BytesIO(out.stdout)) for t in batch]
    expected = [t for g in granted for t in reader.read_range(from_=chunks[g][0], below=chunks[g][1])]
    assert sent and sent == expected
    reader.close()


def test_frames_carry_only_threads(many: Path) -> None:
    """A frame naming any other class is refused before anything is imported or called."""
    reader = CheckpointReader(many)
    threads = reader.read_all().threads
    reader.close()
    good = io.BytesIO()
    split_read.write_frame(good, list(threads[:3]))
    assert list(split_read.read_frames(io.BytesIO(good.getvalue()))) == [list(threads[:3])]
    for payload in (pickle.dumps(os.system), pickle.dumps([Path("/")]), pickle.dumps({"not": "a list"}), b"\x80junk"):
        bad = split_read.FRAME_HEADER.pack(len(payload)) + payload
        with pytest.raises(split_read.BadFrame):
            list(split_read.read_frames(io.BytesIO(bad)))
    with pytest.raises(split_read.BadFrame):  # cut short
        list(split_read.read_frames(io.BytesIO(good.getvalue()[:-1])))


CHILDREN = str(Path(__file__).with_name("split_children.py"))


@pytest.mark.parametrize("args", [
    ["-c", "import sys; sys.exit(3)"],
    ["-c", "print('garbage')"],
    [CHILDREN, "half_then_die"],
    [CHILDREN, "stray"],
    [CHILDREN, "int_thread_id"],
    [CHILDREN, "bogus_header"],
    [CHILDREN, "stray_then_lots"],
    ["-c", "import sys; sys.stdin.buffer.read(); sys.stdout.buffer.write(b'\\x00\\x00\\x00\\x05junk!')"],
])
def test_a_failing_child_falls_back(many: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.setattr(split_read, "WORKER_ARGS", args)
    single = _read(many, split=False)
    assert _read(many, split=True) == single
    # Streamed, every thread comes out exactly once, whatever the child handed over before failing.
    reader = CheckpointReader(many, config_for(SHAPES[n] for n in NAMES), split=True)
    seen: list[str] = []
    reader.stream(lambda batch: seen.extend(t.thread_id for t in batch))
    reader.close()
    assert sorted(seen) == sorted(t.thread_id for t in single)


def test_a_slow_child_leaves_the_chunks_to_the_parent(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(split_read, "WORKER_ARGS", [CHILDREN, "slow"])
    taken: list[str] = []
    real = split_read._Work.take_low

    def take_low(self: Any) -> int | None:
        chunk = real(self)
        taken.append("parent" if chunk is not None else "none")
        return chunk

    monkeypatch.setattr(split_read._Work, "take_low", take_low)
    assert _read(many, split=True) == _read(many, split=False)
    assert taken.count("parent") == len(_chunks(many)) - 2  # all but the two granted ahead


def test_a_stuck_child_is_given_up_on(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(split_read, "WORKER_ARGS", [CHILDREN, "stuck"])
    monkeypatch.setattr(split_read, "STALL_SECONDS", 1.0)
    started = time.monotonic()
    assert _read(many, split=True) == _read(many, split=False)
    assert time.monotonic() - started < 20  # not the child's 30 s


def test_a_full_listing_stops_the_read_whatever_the_child_did(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`list --jsonl --limit N` stops by raising from its sink; a grant stuck in the buffer of a pipe the child
    closed must not turn that into a BrokenPipeError when the pipes are closed."""
    monkeypatch.setattr(split_read, "WORKER_ARGS", [CHILDREN, "done_then_close_stdin"])
    reader = CheckpointReader(many, config_for(SHAPES[n] for n in NAMES), split=True)
    batches: list[int] = []

    def sink(batch: Any) -> None:
        batches.append(len(batch))
        time.sleep(0.3)  # meanwhile the broker takes the done-mark and grants into the closed pipe
        if len(batches) == 3:
            raise ListingFull

    with pytest.raises(ListingFull):
        reader.stream(sink)
    reader.close()


def test_an_error_before_the_child_is_talked_to_is_the_error_reported(many: Path) -> None:
    reader = CheckpointReader(many, split=True)
    reader.config = threading.Lock()  # type: ignore[assignment]  # settings that can't be pickled
    with pytest.raises(TypeError, match="pickle"):
        reader.read_all()
    reader.close()


def test_a_child_that_cannot_start_falls_back(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(split_read.sys, "executable", "/nonexistent/python")
    assert _read(many, split=True) == _read(many, split=False)


def test_polls_after_a_split_read(many: Path, tmp_path: Path) -> None:
    reader = CheckpointReader(many, split=True)
    reader.read_all()
    assert reader.poll() is None
    with open_saver(many) as saver:
        SHAPES["root"].compile(saver).invoke(SHAPES["root"].start, cfg("zzz-new", "root"))
    result = reader.poll()
    assert result is not None and result.changed == {"zzz-new"}
    reader.close()
