"""Set up a demo directory and keep it busy: `prepare_demo` runs every agent until it pauses, `run_live`
keeps starting new runs so a console's list visibly changes.

A demo directory holds `checkpoints.db` (the LangGraph SQLite checkpoints), `outbox.jsonl` (every side
effect that ran) and `config.toml` (names every demo graph, so hitl-tui can load and resume them).
"""

from __future__ import annotations

import importlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hitl_tui.config import Config, load_config
from hitl_tui.demo.catalog import AGENTS, INITIATORS, DemoAgent, agent
from hitl_tui.demo.outbox import OUTBOX_FILENAME

DB_FILENAME = "checkpoints.db"
CONFIG_FILENAME = "config.toml"
AUDIT_FILENAME = "decisions.jsonl"


def open_saver(db_path: Path) -> Any:
    """The one SqliteSaver this process uses on `db_path` (tables created if missing)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    # check_same_thread=False: run_live drives it from a background thread; SqliteSaver serialises with its lock.
    saver = SqliteSaver(sqlite3.connect(str(db_path), check_same_thread=False))
    saver.setup()
    return saver


def build_demo_graph(graph_id: str, checkpointer: Any) -> Any:
    """The compiled demo graph for `graph_id`, bound to `checkpointer`."""
    module = importlib.import_module(agent(graph_id).module)
    return module.build_graph(checkpointer)


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # JSON strings and numbers are valid TOML basic strings and numbers


# The same policy as the commented top-level config.toml (a test keeps the two equal).
DEMO_POLICY = """
[policy]
default_deadline_seconds = 86400

[[policy.band]]
graph = "confidence_agent"
auto_approve_at = 0.85
auto_reject_below = 0.30

[[policy.rule]]
action = "transfer"
when = { amount = { ">" = 10000 } }
risk = "critical"
confirm = true
approvals = 2
deadline_seconds = 3600

[[policy.rule]]
action = "transfer"
risk = "high"
confirm = true

[[policy.rule]]
action = "delete_*"
risk = "high"
confirm = true
deadline_seconds = 7200

[[policy.rule]]
action = "send_*"
risk = "medium"
"""


def config_text() -> str:
    """The demo's config.toml: paths relative to the file, one [graphs.<id>] table per demo graph."""
    lines = [
        "# Written by `hitl-tui demo`; rewritten every time the demo is prepared.",
        "[console]",
        f"db = {_toml_value(DB_FILENAME)}",
        f"outbox = {_toml_value(OUTBOX_FILENAME)}",
        f"audit_log = {_toml_value(AUDIT_FILENAME)}",
    ]
    for demo in AGENTS:
        lines += ["", f"[graphs.{demo.graph_id}]", f"graph = {_toml_value(demo.factory)}"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in demo.graph_config.items()]
    return "\n".join(lines) + "\n" + DEMO_POLICY


@dataclass
class DemoEnv:
    """A prepared demo directory and this process's graphs on it."""

    directory: Path
    db_path: Path
    outbox_path: Path
    config_path: Path
    config: Config
    saver: Any
    graphs: dict[str, Any] = field(default_factory=dict)  # graph_id -> compiled graph
    threads: dict[str, list[str]] = field(default_factory=dict)  # graph_id -> thread ids started, in order
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def graph(self, graph_id: str) -> Any:
        """The compiled graph for `graph_id` (built once per process)."""
        if graph_id not in self.graphs:
            self.graphs[graph_id] = build_demo_graph(graph_id, self.saver)
        return self.graphs[graph_id]

    def start(self, graph_id: str, request: str | None = None) -> str:
        """Start one new run of a demo agent and run it until it pauses or ends; returns its thread id."""
        from hitl_tui.demo.kit import run_config

        demo = agent(graph_id)
        with self._lock:
            started = self.threads.setdefault(graph_id, [])
            n = len(started)
            thread_id = f"{demo.prefix}-{n + 1:04d}"
            started.append(thread_id)
        text = request or demo.requests[n % len(demo.requests)]
        config = run_config(graph_id, thread_id, user_id=INITIATORS[n % len(INITIATORS)])
        self.graph(graph_id).invoke({"request": text}, config)
        return thread_id

    def close(self) -> None:
        """Close the checkpoint connection."""
        self.saver.conn.close()


def _wipe(directory: Path) -> None:
    doomed = [DB_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm", f"{DB_FILENAME}-journal"]
    doomed += [OUTBOX_FILENAME, CONFIG_FILENAME]
    for name in doomed:
        (directory / name).unlink(missing_ok=True)
    # The old audit log (and its anchor and rotations) speaks of threads that no longer exist.
    for path in directory.glob(f"{AUDIT_FILENAME}*"):
        path.unlink(missing_ok=True)


def prepare_demo(directory: Path, *, threads_per_agent: int = 2) -> DemoEnv:
    """(Re)create a demo directory and run every agent on `threads_per_agent` requests until it pauses."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _wipe(directory)
    config_path = directory / CONFIG_FILENAME
    config_path.write_text(config_text(), encoding="utf-8")
    config = load_config(config_path)  # the demo must never write a config hitl-tui can't read
    db_path = directory / DB_FILENAME
    env = DemoEnv(
        directory=directory,
        db_path=db_path,
        outbox_path=directory / OUTBOX_FILENAME,
        config_path=config_path,
        config=config,
        saver=open_saver(db_path),
    )
    for demo in AGENTS:
        for _ in range(threads_per_agent):
            env.start(demo.graph_id)
    return env


def run_live(env: DemoEnv, interval: float, stop: threading.Event, agents: tuple[DemoAgent, ...] = AGENTS) -> int:
    """Start a new agent run every `interval` seconds (round robin over the agents) until `stop` is set.

    Returns how many runs were started.
    """
    started = 0
    while not stop.is_set():
        env.start(agents[started % len(agents)].graph_id)
        started += 1
        if stop.wait(interval):
            break
    return started
