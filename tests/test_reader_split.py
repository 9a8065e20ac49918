"""A cold read split over two processes gives exactly the answer of a single read, and falls back when it can't."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from reader_graphs import SHAPES, cfg, open_saver
from test_reader_conformance import config_for

from hitl_tui.checkpoints import split_read
from hitl_tui.checkpoints.reader import CheckpointReader
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


def _pivot(db: Path) -> str | None:
    conn = connect(db, readonly=True)
    try:
        return split_read.pivot_thread_id(conn)
    finally:
        conn.close()


def test_the_pivot_splits_the_threads(many: Path) -> None:
    reader = CheckpointReader(many)
    pivot = _pivot(many)
    assert pivot is not None
    below = reader.read_range(below=pivot)
    above = reader.read_range(from_=pivot)
    assert below and above
    assert {t.thread_id for t in below} | {t.thread_id for t in above} == {t.thread_id for t in _read(many, False)}
    reader.close()


def test_the_child_classifies_its_range_as_the_parent_would(many: Path) -> None:
    config = config_for(SHAPES[n] for n in NAMES)
    reader = CheckpointReader(many, config)
    pivot = _pivot(many)
    assert pivot is not None
    out = subprocess.run([sys.executable, *split_read.WORKER_ARGS, str(many), pivot],
                         input=pickle.dumps((reader.config, reader.breakpoints)), capture_output=True, timeout=120,
                         check=True)
    sent = [t for batch in split_read.read_frames(io.BytesIO(out.stdout)) for t in batch]
    assert sent and sent == reader.read_range(from_=pivot)
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


HALF_THEN_DIE = (  # a child that hands over one real batch, then crashes: the rest is read by the parent
    "import sys, pickle; from hitl_tui.checkpoints.reader import CheckpointReader; "
    "from hitl_tui.checkpoints.split_read import write_frame; "
    "config, bp = pickle.loads(sys.stdin.buffer.read()); "
    "r = CheckpointReader(__import__('pathlib').Path(sys.argv[1]), config, breakpoints=bp, split=False); "
    "write_frame(sys.stdout.buffer, r.read_range(from_=sys.argv[2])[:5]); sys.exit(1)"
)


@pytest.mark.parametrize("args", [
    ["-c", "import sys; sys.exit(3)"],
    ["-c", "print('garbage')"],
    ["-c", HALF_THEN_DIE],
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
