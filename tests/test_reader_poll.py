"""Incremental `poll()`: None when nothing changed, else exactly the threads that changed, equal to a fresh read."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command
from reader_graphs import SHAPES, cfg, open_saver

from hitl_tui.checkpoints.reader import CheckpointReader, ReadResult


class World:
    def __init__(self, path: Path, saver: Any) -> None:
        self.path, self.saver = path, saver
        self.graph = SHAPES["parallel"].compile(saver)
        self.reader = CheckpointReader(path)

    def pause(self, tid: str) -> None:
        self.graph.invoke(SHAPES["parallel"].start, cfg(tid, "parallel"))

    def answer(self, tid: str, how_many: int = 2) -> None:
        ids = sorted(i.interrupt_id for i in self.reader.thread(tid).interrupts)[:how_many]
        self.graph.invoke(Command(resume={i: "ok" for i in ids}), cfg(tid))

    def poll(self) -> ReadResult | None:
        result = self.reader.poll()
        fresh = CheckpointReader(self.path)
        try:
            assert self.reader.threads == fresh.read_all().threads  # the differential check
        finally:
            fresh.close()
        return result


@pytest.fixture
def world(tmp_path: Path) -> Any:
    path = tmp_path / "checkpoints.db"
    with open_saver(path) as saver:
        w = World(path, saver)
        w.pause("a")
        w.pause("b")
        w.reader.read_all()
        yield w
        w.reader.close()


def test_unchanged_db_polls_none(world: World) -> None:
    for _ in range(50):
        assert world.poll() is None
    other = sqlite3.connect(world.path)  # someone else reading changes nothing
    other.execute("SELECT COUNT(*) FROM checkpoints").fetchone()
    other.close()
    assert world.poll() is None


def test_new_pause_resume_partial_and_finish(world: World) -> None:
    world.pause("c")
    result = world.poll()
    assert result is not None and result.changed == {"c"} and not result.full
    assert [t.thread_id for t in result.threads].count("c") == 1
    world.answer("c", 1)  # one of two answered: c changes, still listed
    result = world.poll()
    assert result is not None and result.changed == {"c"} and len(world.reader.thread("c").interrupts) == 1
    world.answer("c")
    result = world.poll()
    assert result is not None and result.changed == {"c"} and "c" not in {t.thread_id for t in result.threads}
    assert world.poll() is None


def test_deleted_thread_disappears(world: World) -> None:
    world.saver.delete_thread("a")  # not the newest rows: no rowid moves at all
    result = world.poll()
    assert result is not None and result.changed == {"a"}
    assert {t.thread_id for t in result.threads} == {"b"}


def test_deleting_the_newest_rows_then_writing_reuses_rowids(world: World) -> None:
    # b wrote last: deleting it frees the highest rowids, and c's rows get the same numbers again.
    world.saver.delete_thread("b")
    world.pause("c")
    result = world.poll()
    assert result is not None and result.changed == {"b", "c"}
    assert {t.thread_id for t in result.threads} == {"a", "c"}


def test_delete_and_another_write_in_one_interval(world: World) -> None:
    world.saver.delete_thread("a")
    world.pause("c")
    result = world.poll()
    assert result is not None and result.changed == {"a", "c"}


def test_a_finished_thread_starting_again_shows_up(world: World) -> None:
    world.answer("a")
    assert world.poll().changed == {"a"}
    world.pause("a")  # new input on the same thread
    result = world.poll()
    assert result is not None and result.changed == {"a"}
    assert len(world.reader.thread("a").interrupts) == 2


def test_commits_to_other_tables_change_nothing(world: World) -> None:
    other = sqlite3.connect(world.path)
    with other:
        other.execute("CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY, note TEXT)")
        other.execute("INSERT INTO decisions (note) VALUES ('approved')")
    other.close()
    assert world.poll() is None
    world.pause("c")
    assert world.poll().changed == {"c"}


def test_poll_before_any_read_is_a_full_read(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.db"
    with open_saver(path) as saver:
        SHAPES["root"].compile(saver).invoke(SHAPES["root"].start, cfg("r"))
        reader = CheckpointReader(path)
        result = reader.poll()
        assert result is not None and result.full and result.changed == {"r"}
        assert reader.poll() is None
        reader.close()
