"""The console's side of notifications, on real data: a real agent pausing in another process's connection rings
(desktop notification too, on a terminal that supports it), items already waiting at start don't, and an item
passing 50% of its deadline rings once. Where the characters go is injected; what is written is hitl_tui.notify's."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

from test_ui_live import start_run
from ui_fixtures import ALICE, FROZEN, DemoCopy, loaded, wait_for

from hitl_tui.notify import NotifyConfig
from hitl_tui.ui.app import build_app, default_sources

KITTY = {"TERM": "xterm-kitty"}


def notifying_app(demo: DemoCopy, written: list[str], clock: list, **notify: object):  # type: ignore[no-untyped-def]
    config = dataclasses.replace(demo.config, notify=NotifyConfig(enabled=True, **notify))  # type: ignore[arg-type]
    db = Path("checkpoints.db")
    return build_app(config, db, operator=ALICE, clock=lambda: clock[0], sources=default_sources(config, db, ALICE,
                     readonly=True), readonly=True, editor=None, cursor_blink=False, terminal_write=written.append,
                     environ=KITTY)


async def test_a_new_pause_rings_and_shows_a_desktop_notification(demo: DemoCopy) -> None:
    written: list[str] = []
    app = notifying_app(demo, written, [FROZEN])
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.pause(0.2)
        assert written == []  # twenty items were waiting at start: no bell for them
        await asyncio.to_thread(start_run, demo.db, "email_agent", "email-0077", "Email ops@example.com saying hi")
        await wait_for(pilot, lambda: written, 10, "the notification")
        assert written == ["\a\x1b]9;hitl-tui: new: send_email on email-0077\x07"]


async def test_passing_half_of_the_deadline_rings_once(demo: DemoCopy) -> None:
    written: list[str] = []
    clock = [FROZEN]
    app = notifying_app(demo, written, clock, desktop="off", new_items=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        reader_times = [it.thread.paused_at for it in app.console_screen.book.items.values() if it.thread.paused_at]
        clock[0] = max(reader_times) + timedelta(hours=13)  # the demo's default deadline is a day: all past half
        app.console_screen._tick()
        await wait_for(pilot, lambda: written, 5, "the escalation bell")
        app.console_screen._tick()
        assert written == ["\a"]  # one bell for the burst, and nothing more for the same level
