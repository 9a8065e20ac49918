"""Shared helpers for the policy tests (no tests here): a real SQLite checkpoint DB, a config.toml naming the
graphs, paused threads, a desk per operator, and a small graph that pauses with payload shapes a timeout
can't simply reject.

`shapes_graph` is loaded by hitl-tui from config.toml as `graph = "<this file>:build_shapes_graph"`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import pytest

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.config import Config, load_config
from hitl_tui.decisions.desk import DecisionDesk
from hitl_tui.identity import Operator
from hitl_tui.model import PendingThread
from hitl_tui.policy.requirements import requirements_for

SHAPES_GRAPH_ID = "shapes"
HERE = Path(__file__).resolve()


@pytest.fixture(autouse=True)
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's $HITL_TUI_CONFIG must not lend its bands and rules to the agents these tests run."""
    monkeypatch.delenv("HITL_TUI_CONFIG", raising=False)


def person(uid: int, name: str) -> Operator:
    """A human operator with a given uid (identity is injected into the desk, as the console does)."""
    return Operator(uid=uid, user=name, host="testhost")


def config_text(policy: str = "", *, graphs: tuple[str, ...] = ("email_agent",)) -> str:
    lines = ["[console]", 'db = "checkpoints.db"', 'audit_log = "decisions.jsonl"', 'outbox = "outbox.jsonl"']
    for gid in graphs:
        factory = f"{HERE}:build_shapes_graph" if gid == SHAPES_GRAPH_ID else f"hitl_tui.demo.{gid}:build_graph"
        lines += ["", f"[graphs.{gid}]", f"graph = {json.dumps(factory)}"]
    return "\n".join(lines) + "\n\n" + policy + "\n"


@dataclass
class PolicyEnv:
    """A directory with checkpoints.db, config.toml, outbox and audit log, and this process's graphs on it."""

    directory: Path
    config_path: Path
    saver: Any
    graphs: dict[str, Any]

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    @property
    def db_path(self) -> Path:
        return self.directory / "checkpoints.db"

    @property
    def audit_path(self) -> Path:
        return self.directory / "decisions.jsonl"

    @property
    def outbox_path(self) -> Path:
        return self.directory / "outbox.jsonl"

    def graph(self, graph_id: str) -> Any:
        if graph_id not in self.graphs:
            if graph_id == SHAPES_GRAPH_ID:
                self.graphs[graph_id] = build_shapes_graph(self.saver)
            else:
                from hitl_tui.demo import build_demo_graph

                self.graphs[graph_id] = build_demo_graph(graph_id, self.saver)
        return self.graphs[graph_id]

    def start(self, thread_id: str, request: str, *, graph_id: str = "email_agent", user_id: str | None = "alice",
              **state: Any) -> None:
        """Run one agent until it pauses."""
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if user_id is not None:
            configurable["user_id"] = user_id
        self.graph(graph_id).invoke({"request": request, **state},
                                    {"configurable": configurable, "metadata": {"graph_id": graph_id}})

    def thread(self, thread_id: str) -> PendingThread:
        reader = CheckpointReader(self.db_path, self.config)
        try:
            found = reader.thread(thread_id)
        finally:
            reader.close()
        assert found is not None, thread_id
        return found

    def desk(self, operator: Operator, *, clock: Callable[[], datetime] | None = None,
             resume: bool = True) -> DecisionDesk:
        config = self.config
        return DecisionDesk(config, self.db_path, operator, clock=clock, resume_in_process=resume,
                            requirements=requirements_for(config))

    def outbox(self) -> list[dict[str, Any]]:
        from hitl_tui.demo.outbox import read_outbox

        return read_outbox(self.outbox_path)

    def decisions(self) -> list[dict[str, Any]]:
        """Every row of the decision ledger, oldest first."""
        with sqlite3.connect(self.db_path) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM hitl_decisions ORDER BY rowid")]

    def close(self) -> None:
        self.saver.conn.close()


def make_env(directory: Path, policy: str = "", *, graphs: tuple[str, ...] = ("email_agent",)) -> PolicyEnv:
    from hitl_tui.demo import open_saver

    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "config.toml"
    config_path.write_text(config_text(policy, graphs=graphs), encoding="utf-8")
    load_config(config_path)  # fail early on a config the test itself got wrong
    return PolicyEnv(directory, config_path, open_saver(directory / "checkpoints.db"), {})


# -- a graph that pauses with a payload picked by the run's `shape` --------------------------------------------


class ShapesState(TypedDict, total=False):
    request: str
    shape: str  # "inbox_no_respond" | "raw" | "approve_only"
    answer: Any


def build_shapes_graph(checkpointer: Any) -> Any:
    """START -> ask -> END; `ask` interrupts with the payload named by state["shape"] and keeps the answer."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    from hitl_tui.agent import approval_payload

    def ask(state: ShapesState) -> dict[str, Any]:
        shape = state["shape"]
        if shape == "inbox_no_respond":
            value: Any = [{
                "action_request": {"action": "archive", "args": {"id": state["request"]}},
                "config": {"allow_accept": True, "allow_ignore": True, "allow_respond": False, "allow_edit": False},
                "description": "Archive it?",
            }]
        elif shape == "raw":
            value = f"Which folder should {state['request']} go to?"
        else:
            value = approval_payload("launch", {"id": state["request"]}, allowed=["approve"])
        return {"answer": interrupt(value)}

    builder = StateGraph(ShapesState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    graph = builder.compile(checkpointer=checkpointer, name=SHAPES_GRAPH_ID)
    return graph.with_config({"metadata": {"graph_id": SHAPES_GRAPH_ID}})
