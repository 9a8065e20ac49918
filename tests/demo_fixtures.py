"""Fixtures and helpers for the demo-agent tests (imported by tests/test_demo_*.py; kept out of conftest.py).

Import what a module needs, e.g. `from demo_fixtures import clean_env, demo_db  # noqa: F401`; `clean_env` is
autouse, so importing it is enough to run every test of that module without a real API key or outbox path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI

MODEL_ENV = (
    "OPENAI_API_KEY",
    "HITL_OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "HITL_OPENAI_BASE_URL",
    "HITL_DEMO_MODEL",
    "HITL_OPENAI_TIMEOUT",
    "HITL_OPENAI_MAX_RETRIES",
    "HITL_DEMO_OFFLINE",
    "HITL_DEMO_OUTBOX",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key, no base URL, no outbox override from the developer's shell: offline and deterministic."""
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)


@dataclass
class DemoDB:
    path: Path
    saver: Any

    @property
    def outbox(self) -> Path:
        """Where the demo agents append their effects (next to the DB)."""
        return self.path.parent / "outbox.jsonl"

    def graph(self, graph_id: str) -> Any:
        """A demo graph bound to this DB."""
        from hitl_tui.demo import build_demo_graph

        return build_demo_graph(graph_id, self.saver)

    def latest_metadata(self, thread_id: str) -> dict[str, Any]:
        """The latest root checkpoint's metadata, read with SQL (as the reader does)."""
        import json

        with sqlite3.connect(self.path) as conn:
            row = conn.execute(
                "SELECT metadata FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1",
                (thread_id,),
            ).fetchone()
        return json.loads(row[0])


@pytest.fixture
def demo_db(tmp_path: Path) -> Iterator[DemoDB]:
    """A real file-backed SqliteSaver in tmp_path; the outbox lands beside it."""
    from hitl_tui.demo import open_saver

    path = tmp_path / "checkpoints.db"
    saver = open_saver(path)
    yield DemoDB(path, saver)
    saver.conn.close()


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A local chat-completions server, with the demo planner pointed at it (no retries, short timeout)."""
    with FakeOpenAI() as server:
        monkeypatch.setenv("HITL_OPENAI_API_KEY", "sk-test-local")
        monkeypatch.setenv("HITL_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("HITL_DEMO_MODEL", "fake-model-1")
        monkeypatch.setenv("HITL_OPENAI_MAX_RETRIES", "0")
        monkeypatch.setenv("HITL_OPENAI_TIMEOUT", "10")
        yield server


def run(graph: Any, graph_id: str, thread_id: str, request: str, **configurable: Any) -> dict[str, Any]:
    """Start a demo run the way prepare_demo does; returns invoke's result."""
    from hitl_tui.demo.kit import run_config

    return graph.invoke({"request": request}, run_config(graph_id, thread_id, **configurable))


def cfg(thread_id: str, **configurable: Any) -> dict[str, Any]:
    """A resume config as a resumer would pass it: just the thread id (plus e.g. hitl_decision_id)."""
    return {"configurable": {"thread_id": thread_id, **configurable}}
