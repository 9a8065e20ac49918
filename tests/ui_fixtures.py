"""Fixtures and helpers for the console tests (tests/test_ui_*.py and tests/e2e).

Everything runs on real data: the demo agents write a real checkpoint DB once per session (prepare_demo), each
test works on its own copy. For snapshots, `StableSource` wraps the real reader and replaces the few values that
differ between runs (checkpoint ids and times), so the pictures are the same every time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hitl_tui.checkpoints.reader import CheckpointReader, ReadResult
from hitl_tui.config import Config, load_config
from hitl_tui.identity import Operator
from hitl_tui.model import PendingThread
from hitl_tui.ui.app import ConsoleApp, Sources, build_app, default_sources

FROZEN = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
ALICE = Operator(uid=os.getuid(), user="alice", host="console")
BOB = Operator(uid=os.getuid() + 1, user="bob", host="console")
DEMO_FILES = ("checkpoints.db", "config.toml")
MODEL_ENV = ("OPENAI_API_KEY", "HITL_OPENAI_API_KEY", "OPENAI_BASE_URL", "HITL_OPENAI_BASE_URL", "HITL_DEMO_MODEL",
             "HITL_DEMO_OFFLINE", "HITL_DEMO_OUTBOX")


def frozen_clock() -> datetime:
    return FROZEN


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real demo (every pause style) per session; tests copy it."""
    from hitl_tui.demo.runner import prepare_demo

    saved = {k: os.environ.pop(k) for k in MODEL_ENV if k in os.environ}  # offline and deterministic
    try:
        directory = tmp_path_factory.mktemp("demo-template")
        env = prepare_demo(directory)
        env.close()
    finally:
        os.environ.update(saved)
    with sqlite3.connect(directory / "checkpoints.db") as conn:  # fold the WAL in, so one file is a full copy
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return directory


@dataclass
class DemoCopy:
    directory: Path
    config: Config

    @property
    def db(self) -> Path:
        return self.directory / "checkpoints.db"

    @property
    def outbox(self) -> Path:
        return self.directory / "outbox.jsonl"

    @property
    def audit(self) -> Path:
        return self.config.audit_log

    def outbox_lines(self) -> list[dict[str, Any]]:
        from hitl_tui.demo import read_outbox

        return read_outbox(self.outbox) if self.outbox.exists() else []

    def audit_records(self) -> list[dict[str, Any]]:
        from hitl_tui.audit import iter_records

        return list(iter_records(self.audit)) if self.audit.exists() else []


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DemoCopy:
    """This test's own copy of the demo directory; the cwd is set to it so paths on screen are short."""
    target = tmp_path / "demo"
    target.mkdir()
    for name in DEMO_FILES:
        shutil.copy2(demo_template / name, target / name)
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(target)
    return DemoCopy(target, load_config(target / "config.toml"))


# (thread, stable checkpoint id) -> the real one, for reading a thread's context at the checkpoint it was listed at.
_REAL_CHECKPOINT: dict[tuple[str, str], str] = {}


class StableSource:
    """The real reader with run-specific values (checkpoint ids, times, interrupt order) made stable."""

    def __init__(self, reader: CheckpointReader) -> None:
        self.reader = reader

    def _stable(self, threads: tuple[PendingThread, ...]) -> tuple[PendingThread, ...]:
        ordered = sorted(threads, key=lambda t: (t.checkpoint_id, t.thread_id))
        out = []
        for i, t in enumerate(ordered):
            interrupts = tuple(sorted(t.interrupts, key=lambda it: (it.node, [a.name for a in it.actions])))
            stable_id = f"1f0e2a00-0000-6000-8000-{i:012d}"
            _REAL_CHECKPOINT[(t.thread_id, stable_id)] = t.checkpoint_id
            out.append(replace(
                t,
                checkpoint_id=stable_id,
                paused_at=FROZEN - timedelta(minutes=7 * (len(ordered) - i) + i),
                interrupts=interrupts,
            ))
        return tuple(out)

    def read_all(self) -> ReadResult:
        result = self.reader.read_all()
        return ReadResult(self._stable(result.threads), frozenset(), True)

    def poll(self) -> ReadResult | None:
        return None  # a snapshot shows one moment

    def context(self, thread_id: str, checkpoint_id: str, graph_id: str | None) -> tuple[Any, ...]:
        real = _REAL_CHECKPOINT.get((thread_id, checkpoint_id), checkpoint_id)
        return self.reader.context(thread_id, real, graph_id)

    def close(self) -> None:
        self.reader.close()


def stable_sources(config: Config, db: Path, audit: Path | None = None) -> Sources:
    """Real data, stable on screen; no desk (snapshots never decide)."""
    tail = None
    if audit is not None:
        from hitl_tui.audit import AuditTail

        def tail() -> Any:
            return AuditTail(audit)

    def source() -> StableSource:
        return StableSource(CheckpointReader(db, config))

    return Sources(threads=source, records=None, desk=None, audit_tail=tail, context=source)


def make_app(
    demo: DemoCopy,
    *,
    operator: Operator = ALICE,
    stable: bool = False,
    readonly: bool = False,
    editor: str | None = None,
    config: Config | None = None,
    audit: bool = False,
) -> ConsoleApp:
    """The console on a demo copy, the way the CLI builds it, with a frozen clock and a test operator."""
    cfg = config or demo.config
    db = Path("checkpoints.db")  # relative to the demo copy (the cwd), so the status line is the same every run
    sources = (stable_sources(cfg, db, demo.audit if audit else None) if stable
               else default_sources(cfg, db, operator, readonly=readonly))
    return build_app(cfg, db, operator=operator, clock=frozen_clock, readonly=readonly, sources=sources,
                     editor=editor, cursor_blink=False)


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `condition` between UI frames until it is truthy (bounded; never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.02)


async def loaded(pilot: Any) -> None:
    """Wait until the first read of the DB is on screen (with the selected thread's recent messages)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.console_screen.loaded, what="the first read of the DB")
    await settled(pilot)


async def settled(pilot: Any) -> None:
    """Wait until the details show the selected thread's recent messages (read in the context thread)."""
    await pilot.pause()
    await wait_for(pilot, lambda: pilot.app.console_screen.context_settled, what="the selected thread's context")
    await pilot.pause()


def select_thread(app: ConsoleApp, thread_id: str, action: str | None = None) -> None:
    """Put the cursor on the first row of `thread_id` (optionally the row whose action is `action`)."""
    for item in app.console_screen.thread_list.items:
        if item.thread.thread_id == thread_id and (action is None or item.action_label.startswith(action)):
            app.console_screen.thread_list.select_key(item.key)
            return
    raise AssertionError(f"no row for {thread_id} {action or ''}")


def rendered_text(app: ConsoleApp) -> str:
    """What the terminal would show, as plain text (from the screenshot SVG's text)."""
    import html
    import re

    svg = app.export_screenshot()
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(texts)).replace("\xa0", " ")


def terminal_bytes(app: ConsoleApp) -> str:
    """The exact characters and escape sequences a real terminal would receive for a full repaint."""
    from rich.console import Console

    update = app.screen._compositor.render_update(full=True)
    console = Console(force_terminal=True, color_system="truecolor", width=app.size.width, legacy_windows=False)
    return update.render_segments(console)


@pytest.fixture
def hostile_db(tmp_path: Path) -> Iterator[Path]:
    """A real LangGraph DB whose only thread pauses with a payload full of terminal attacks and markup."""
    path = tmp_path / "hostile.db"
    write_hostile_db(path)
    yield path


# -- a payload that attacks the operator's terminal ----------------------------------------------------------

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # writes the clipboard
OSC8 = "\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\"  # a hidden hyperlink
OSC0 = "\x1b]0;pwned title\x07"  # sets the window title
CSI_CLEAR = "\x1b[2J\x1b[H"  # clears the screen
C1_CSI = "\x9b31m"  # 8-bit CSI
BIDI = "\u202egnp.exe\u202c and \u2066isolate\u2069"
MARKUP = "[bold red]FAKE APPROVED[/] [link=http://evil.example]x[/link] [/]"
HOSTILE_THREAD = "evil\x1b]0;t\x07-thread"
HOSTILE_BYTES = ("\x1b", "\x9b", "\x07", "\u202e", "\u202c", "\u2066", "\u2069")


def hostile_payload() -> dict[str, Any]:
    from hitl_tui.agent import approval_payload

    nested: Any = "bottom"
    for _ in range(150):
        nested = {"n": nested}
    return approval_payload(
        "send\x1b[2Jmail[bold]",
        {
            "to": "a@example.com" + OSC52,
            "subject": MARKUP,
            "body": OSC8 + OSC0 + CSI_CLEAR + C1_CSI + BIDI,
            "huge": "A" * 2_000_000,
            "deep": nested,
            "[b]key\x1b[31m": "value",
        },
        description="Please approve " + OSC52 + MARKUP,
        reasoning=BIDI + "\n" + CSI_CLEAR + "reasoning [italic]done[/italic]",
        confidence=0.42,
        risk="high\x1b[5m",
    )


def write_hostile_db(path: Path) -> str:
    """Run a real one-node graph until it interrupts with `hostile_payload()`; returns the thread id."""
    from typing import TypedDict

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    class State(TypedDict, total=False):
        messages: list[dict[str, str]]

    def review(state: State) -> State:
        interrupt(hostile_payload())
        return {}

    builder = StateGraph(State)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": HOSTILE_THREAD}, "metadata": {"graph_id": "evil\x9bgraph"}}
        graph.invoke({"messages": [{"role": "user", "content": "hi " + OSC52 + MARKUP}]}, config)
    finally:
        conn.close()
    return HOSTILE_THREAD


def details_text(app: ConsoleApp, width: int = 200) -> str:
    """The details pane's content as plain text, unwrapped at `width` (the screen interleaves it with the list)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    for part in ("#details-body", "#details-context"):
        widget = app.console_screen.query_one(part)
        if widget.display:
            console.print(widget.content)  # type: ignore[attr-defined]
    return console.file.getvalue()  # type: ignore[attr-defined]


async def loaded_on(pilot: Any, thread_id: str) -> None:
    """Wait for the first read, then put the cursor on `thread_id` and let the screen catch up."""
    await loaded(pilot)
    select_thread(pilot.app, thread_id)
    await settled(pilot)
