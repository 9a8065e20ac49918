"""Set-up and child processes for the Postgres ledger tests: agents on several (simulated) hosts sharing one
Postgres database through LangGraph's PostgresSaver, each host with its own config and decisions.jsonl copy.

A simulated host is a process with its own HITL_TUI_HOST_ID: its claims name that host, so the other "host" can't
judge them by pid and must wait for their lease, as a real second machine would.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers_decisions import CRASHY, GRAPH_FILE, _guarded, approve, operator, race_through

from hitl_tui.config import Config, load_config
from hitl_tui.demo.kit import run_config
from hitl_tui.demo.outbox import read_outbox

HOST_ENV = "HITL_TUI_HOST_ID"
LEASE_ENV = "HITL_TUI_LEASE_SECONDS"


@dataclass
class PgEnv:
    """A Postgres database with the crashy agent's threads, and one config (audit log copy) per host."""

    dsn: str
    directory: Path
    outbox: Path

    def config_path(self, host: str) -> Path:
        path = self.directory / host / "config.toml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f'[console]\naudit_log = "decisions.jsonl"\noutbox = "{self.outbox}"\n\n'
                            f'[graphs.{CRASHY}]\ngraph = "{GRAPH_FILE}:build_graph"\n')
        return path

    def config(self, host: str) -> Config:
        return load_config(self.config_path(host))

    def start(self, count: int, prefix: str = "t") -> list[str]:
        """`count` new crashy threads, run by the real graph through PostgresSaver until they pause."""
        import decisions_graph
        from langgraph.checkpoint.postgres import PostgresSaver

        ids = [f"{prefix}-{i + 1:04d}" for i in range(count)]
        with PostgresSaver.from_conn_string(self.dsn) as saver:
            saver.setup()
            graph = decisions_graph.build_graph(saver)
            for tid in ids:
                graph.invoke({"request": f"box {tid}", "kind": "hitl"}, run_config(CRASHY, tid))
        return ids

    def outbox_lines(self) -> list[dict[str, Any]]:
        return read_outbox(self.outbox) if self.outbox.exists() else []

    def effects(self) -> Counter[str]:
        return Counter(line["thread_id"] for line in self.outbox_lines())

    def rows(self) -> list[dict[str, Any]]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.dsn, row_factory=dict_row) as conn:
            return list(conn.execute("SELECT * FROM hitl_decisions ORDER BY seq").fetchall())

    def execute(self, statement: str, params: Any = None) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(statement, params)


def make_pg_env(dsn: str, directory: Path) -> PgEnv:
    directory.mkdir(parents=True, exist_ok=True)
    return PgEnv(dsn, directory, directory / "outbox.jsonl")


def _as_host(host: str, lease: float | None = None) -> None:
    os.environ[HOST_ENV] = host
    if lease is not None:
        os.environ[LEASE_ENV] = str(lease)


def pg_race_worker(dsn: str, config_path: str, host: str, worker: int, seed: int, barrier: Any, out: str) -> None:
    """One process of one host: read every paused thread, then decide and resume them as fast as it can."""

    def body() -> dict[str, Any]:
        _as_host(host)
        return race_through(dsn, load_config(Path(config_path)), worker, seed, barrier)

    _guarded(Path(out), body)


def pg_decide_and_crash(dsn: str, config_path: str, host: str, lease: float, env_vars: dict[str, str],
                        thread_id: str) -> None:
    """Decide (and claim, in the same commit) one thread, then die where `env_vars` say (SIGKILL)."""
    _as_host(host, lease)
    os.environ.update(env_vars)
    from hitl_tui.checkpoints.postgres.thread_reader import PostgresThreadReader
    from hitl_tui.decisions.desk import DecisionDesk

    config = load_config(Path(config_path))
    reader = PostgresThreadReader(dsn, config)
    thread = reader.thread(thread_id)
    reader.close()
    assert thread is not None
    desk = DecisionDesk(config, dsn, operator("crasher"))
    desk.decide(thread, thread.interrupts[0], [approve()])
    desk.close()  # reached only when the crash point didn't fire


def pg_worker_pass(dsn: str, config_path: str, host: str, lease: float, out: str) -> None:
    """One `hitl-tui worker` pass on another host."""

    def body() -> str:
        _as_host(host, lease)
        from hitl_tui.console.worker import Worker

        worker = Worker(load_config(Path(config_path)), dsn, operator=operator(f"worker@{host}"))
        try:
            return worker.run_pass().summary()
        finally:
            worker.close()

    _guarded(Path(out), body)
