"""`hitl-tui list` and `list --json` on a real DB: the data round-trips, and agent text can't drive the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import START, StateGraph
from reader_graphs import SHAPES, State, cfg, open_saver

from hitl_tui.agent import approval_payload
from hitl_tui.listing import thread_json
from hitl_tui.reader import CheckpointReader

HOSTILE = "rm\x1b[2J\x1b]52;c;cHduZWQ=\x07\x9b31m\u202eevil\u202c[bold]x[/]\x7f\x00"
HOSTILE_THREAD = "thread\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"
RAW = ("\x1b", "\x9b", "\x07", "\u202e", "\x00", "\x7f")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HITL_TUI_CONFIG"}
    return subprocess.run([sys.executable, "-m", "hitl_tui", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)


def _hostile_graph(saver: Any) -> Any:
    from langgraph.types import interrupt

    def ask(s: State) -> dict[str, Any]:
        interrupt(approval_payload(HOSTILE, {"path": HOSTILE}, description=HOSTILE, reasoning=HOSTILE))
        return {}

    g = StateGraph(State)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    return g.compile(checkpointer=saver)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoints.db"
    with open_saver(path) as saver:
        for shape in ("root", "parallel", "subgraph", "sends"):
            SHAPES[shape].compile(saver).invoke(SHAPES[shape].start, cfg(f"{shape}-1", shape))
        SHAPES["root"].compile(saver).invoke(SHAPES["root"].start, cfg("finished", "root"))
        graph = SHAPES["root"].compile(saver)
        from langgraph.types import Command

        (item,) = graph.get_state(cfg("finished")).interrupts
        graph.invoke(Command(resume={item.id: "ok"}), cfg("finished"))
        _hostile_graph(saver).invoke({"log": []}, cfg(HOSTILE_THREAD, "hostile"))
    return path


def test_json_round_trips(db: Path, tmp_path: Path) -> None:
    out = run_cli("list", "--db", str(db), "--json", cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == ""
    data = json.loads(out.stdout)
    reader = CheckpointReader(db)
    expected = [json.loads(json.dumps(thread_json(t), default=repr)) for t in reader.read_all().threads]
    assert data == expected
    assert {d["thread_id"] for d in data} == {"root-1", "parallel-1", "subgraph-1", "sends-1", HOSTILE_THREAD}
    by_id = {d["thread_id"]: d for d in data}
    assert len(by_id["sends-1"]["interrupts"]) == 3 and by_id["sends-1"]["next"] == ["tools"] * 3
    assert by_id["subgraph-1"]["interrupts"][0]["namespace"].startswith("sub:")
    assert by_id[HOSTILE_THREAD]["interrupts"][0]["actions"][0]["name"] == HOSTILE  # exact, after decoding
    for raw in RAW:
        assert raw not in out.stdout


def test_table_shows_threads_and_escapes_agent_text(db: Path, tmp_path: Path) -> None:
    out = run_cli("list", "--db", str(db), cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == ""
    for tid in ("root-1", "parallel-1", "subgraph-1", "sends-1"):
        assert tid in out.stdout
    assert "finished" not in out.stdout
    for raw in RAW:
        assert raw not in out.stdout, repr(raw)
    assert "\\x1b" in out.stdout and "\\x9b" in out.stdout and "\\u202e" in out.stdout
    assert "[bold]" in out.stdout  # markup is shown literally (the cell is cut at 60 characters)
    assert "5 thread(s) waiting, 8 pending interrupt(s)." in out.stdout


def test_empty_db_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    with open_saver(path):
        pass
    out = run_cli("list", "--db", str(path), cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == "No threads are waiting for a human.\n"
    out = run_cli("list", "--db", str(path), "--json", cwd=tmp_path)
    assert out.returncode == 0 and json.loads(out.stdout) == []
