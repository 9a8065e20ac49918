"""The console while the world changes: new pauses arrive, the DB goes missing or is replaced, polls are slow.
All DB work is off the UI thread, polls never overlap, and an idle console uses almost no CPU."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from ui_fixtures import (
    ALICE,
    DemoCopy,
    frozen_clock,
    loaded,
    make_app,
    rendered_text,
    select_thread,
    wait_for,
)

from hitl_tui.checkpoints.reader import CheckpointReader, ReadResult
from hitl_tui.console.loop_events import SourceProblem, ThreadsRead
from hitl_tui.console.watchers import DBWatcher
from hitl_tui.ui.app import Sources, build_app
from hitl_tui.ui.messages import ProblemChanged


def start_run(db: Path, graph_id: str, thread_id: str, request: str) -> None:
    """Another process's agent pausing: a real demo graph run on its own connection."""
    from hitl_tui.demo.kit import run_config
    from hitl_tui.demo.runner import build_demo_graph, open_saver

    saver = open_saver(db)
    try:
        build_demo_graph(graph_id, saver).invoke({"request": request}, run_config(graph_id, thread_id, user_id="carol"))
    finally:
        saver.conn.close()


def status_problems(app: Any) -> dict[str, str]:
    return dict(app.console_screen.query_one("StatusBar").problems)


async def test_a_new_pause_appears_marked_new_and_the_cursor_stays(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        select_thread(app, "percall-0002")
        chosen = app.console_screen.selected
        await asyncio.to_thread(start_run, demo.db, "email_agent", "email-0077", "Email ops@example.com saying hi")
        await wait_for(pilot, lambda: any(it.thread.thread_id == "email-0077"
                                          for it in app.console_screen.thread_list.items), 10, "the new row")
        new = next(it for it in app.console_screen.thread_list.items if it.thread.thread_id == "email-0077")
        assert app.console_screen.selected.key == chosen.key  # the operator's place is kept
        assert new.key in app.console_screen.thread_list.new_keys
        await pilot.pause()
        assert "● new" in rendered_text(app) and "1 new" in rendered_text(app)
        app.console_screen.thread_list.select_key(new.key)  # looking at it clears the mark
        await pilot.pause()
        assert new.key not in app.console_screen.thread_list.new_keys


async def test_a_missing_db_is_reported_and_picked_up_when_it_appears(demo: DemoCopy, tmp_path: Path) -> None:
    later = tmp_path / "later"
    later.mkdir()
    hidden = later / "checkpoints.db"
    shutil.move(demo.db, hidden)
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "db" in status_problems(app), 10, "the missing-DB message")
        assert "does not exist" in status_problems(app)["db"]
        assert "does not exist" in rendered_text(app)
        await pilot.press("j", "question_mark", "escape")  # still responsive
        shutil.move(hidden, demo.db)
        await loaded(pilot)
        await wait_for(pilot, lambda: "db" not in status_problems(app), 10, "the message to clear")
        assert len(app.console_screen.thread_list.items) > 0


async def test_db_deleted_or_replaced_while_running(demo: DemoCopy, tmp_path: Path) -> None:
    # An observer: a deciding console's desk (loaded 0.5 s after the list) keeps its own connection, and the file
    # copied over the DB below, in this process, would trip the DB-open guard; in real life another process does it.
    app = make_app(demo, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        count = len(app.console_screen.thread_list.items)
        aside = tmp_path / "aside.db"
        shutil.move(demo.db, aside)
        await wait_for(pilot, lambda: "deleted or moved" in status_problems(app).get("db", ""), 10, "deleted")
        assert len(app.console_screen.thread_list.items) == count  # what was read stays on screen
        await pilot.press("j", "k")
        shutil.copy2(aside, demo.db)  # a different file at the same path
        await wait_for(pilot, lambda: "db" not in status_problems(app), 10, "recovery")
        assert len(app.console_screen.thread_list.items) == count


async def test_a_file_that_is_not_a_checkpoint_db_is_explained(demo: DemoCopy) -> None:
    demo.db.write_bytes(b"this is not sqlite" * 100)
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "db" in status_problems(app), 10, "the message")
        assert "not a SQLite database" in status_problems(app)["db"]


class SlowSource:
    """The real reader, made slow, counting how many reads ever ran at once."""

    def __init__(self, reader: CheckpointReader, stats: dict[str, int]) -> None:
        self.reader, self.stats = reader, stats
        self.lock = threading.Lock()

    def _timed(self, fn: Any) -> Any:
        with self.lock:
            self.stats["running"] += 1
            self.stats["max"] = max(self.stats["max"], self.stats["running"])
            self.stats["calls"] += 1
        try:
            time.sleep(0.05)
            return fn()
        finally:
            with self.lock:
                self.stats["running"] -= 1

    def read_all(self) -> ReadResult:
        return self._timed(self.reader.read_all)

    def poll(self) -> ReadResult | None:
        return self._timed(self.reader.poll)

    def close(self) -> None:
        self.reader.close()


def test_polls_never_overlap_and_follow_commits(demo: DemoCopy) -> None:
    stats = {"running": 0, "max": 0, "calls": 0}
    events: list[object] = []
    watcher = DBWatcher(demo.db, lambda: SlowSource(CheckpointReader(demo.db, demo.config), stats), None,
                        interval=0.01, emit=events.append)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not any(isinstance(e, ThreadsRead) for e in events) and time.monotonic() < deadline:
            time.sleep(0.01)
        for n in range(3):  # commits from another connection make the watcher poll
            start_run(demo.db, "email_agent", f"email-009{n}", "Email ops@example.com saying hi")
            watcher.wake.set()
        deadline = time.monotonic() + 10
        while sum(isinstance(e, ThreadsRead) for e in events) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        watcher.stop.set()
        watcher.wake.set()
        thread.join(10)
    assert stats["max"] == 1
    assert sum(isinstance(e, ThreadsRead) for e in events) >= 2
    assert not [e for e in events if isinstance(e, SourceProblem) and e.message]
    # Idle ticks don't read: polls happen only when the DB changed (a read per commit, not per tick).
    assert stats["calls"] <= 1 + 3 * 2


async def test_idle_console_uses_almost_no_cpu(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.pause(1.0)  # let the desk warm up and the audit tail settle
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(3.0)
        used = (time.process_time() - cpu) / (time.monotonic() - wall)
    assert used < 0.05, f"idle console used {used:.1%} of a CPU"


async def test_the_ui_never_waits_for_the_db(demo: DemoCopy) -> None:
    """A read that is stuck (as on a locked DB) does not stop keys from working."""
    gate = threading.Event()

    class Stuck:
        def __init__(self) -> None:
            self.reader = CheckpointReader(demo.db, demo.config)

        def read_all(self) -> ReadResult:
            gate.wait(5)
            return self.reader.read_all()

        def poll(self) -> ReadResult | None:
            return self.reader.poll()

        def close(self) -> None:
            self.reader.close()

    sources = Sources(threads=Stuck, records=None, desk=None, audit_tail=None)
    app = build_app(demo.config, Path("checkpoints.db"), operator=ALICE, clock=frozen_clock, sources=sources,
                    editor=None, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape", "slash", *"abc", "escape")
        assert not gate.is_set() and not app.console_screen.loaded  # all that happened while the read was stuck
        assert "Reading the checkpoint DB" in rendered_text(app)
        gate.set()
        await loaded(pilot)


class BatchingSource:
    """The real reader, reporting its result in batches the way a progressive `read_all(progress=...)` would."""

    def __init__(self, reader: CheckpointReader, seen: list[int]) -> None:
        self.reader, self.seen = reader, seen

    def read_all(self, progress: Any = None) -> ReadResult:
        result = self.reader.read_all()
        batches = [result.threads[i:i + 5] for i in range(0, len(result.threads), 5)]
        for batch in reversed(batches):  # out of list order, as rowid order would be
            progress(batch)
            self.seen.append(len(batch))
        return result

    def poll(self) -> ReadResult | None:
        return self.reader.poll()

    def close(self) -> None:
        self.reader.close()


async def test_a_first_read_in_batches_fills_the_list_in_order(demo: DemoCopy) -> None:
    seen: list[int] = []
    sources = Sources(threads=lambda: BatchingSource(CheckpointReader(demo.db, demo.config), seen), records=None,
                      desk=None, audit_tail=None)
    app = build_app(demo.config, Path("checkpoints.db"), operator=ALICE, clock=frozen_clock, sources=sources,
                    editor=None, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert len(seen) > 2
        items = app.console_screen.thread_list.items
        reader = CheckpointReader(demo.db, demo.config)
        expected = [t.thread_id for t in reader.read_all().threads for _ in t.interrupts]
        reader.close()
        assert [it.thread.thread_id for it in items] == expected  # sorted into pause order
        assert not app.console_screen.thread_list.new_keys  # a first read marks nothing as new


async def test_a_report_landing_after_the_console_closed_is_dropped(demo: DemoCopy) -> None:
    # A background loop's last report can be delivered while Textual is tearing the screen down (seen in CI):
    # handling it must not query widgets that are gone.
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
    app.on_problem_changed(ProblemChanged(SourceProblem("desk", None)))
    app.on_problem_changed(ProblemChanged(SourceProblem("db", "gone")))
