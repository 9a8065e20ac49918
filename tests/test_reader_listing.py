"""`hitl-tui list` on a real DB: the data round-trips in every output form (table, compact and pretty JSON, JSON
lines), the filters pick what they say, and agent text can't drive the terminal."""

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
from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.cli.listing import thread_json
from hitl_tui.model import ThreadStatus

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
        # Stopped at a breakpoint no config names: running or stalled as far as the DB can tell.
        classic = SHAPES["classic_before"]
        classic.compile(saver).invoke(classic.start, cfg("classic-1", "classic_before"))
    return path


def test_json_round_trips(db: Path, tmp_path: Path) -> None:
    out = run_cli("list", "--db", str(db), "--json", cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == ""
    data = json.loads(out.stdout)
    reader = CheckpointReader(db)
    waiting = [t for t in reader.read_all().threads if t.status is not ThreadStatus.RUNNING_OR_STALLED]
    expected = [json.loads(json.dumps(thread_json(t), default=repr)) for t in waiting]
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


def _ids(out: subprocess.CompletedProcess[str], *, lines: bool = False) -> list[str]:
    assert out.returncode == 0 and out.stderr == "", out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()] if lines else json.loads(out.stdout)
    return [r["thread_id"] for r in rows]


def test_json_is_compact_and_pretty_is_the_same_data_indented(db: Path, tmp_path: Path) -> None:
    compact = run_cli("list", "--db", str(db), "--json", cwd=tmp_path)
    pretty = run_cli("list", "--db", str(db), "--pretty", cwd=tmp_path)
    assert compact.stdout.count("\n") == 1 and ", " not in compact.stdout.split('"thread_id"')[0]
    assert '\n  {\n    "thread_id": ' in pretty.stdout
    assert json.loads(compact.stdout) == json.loads(pretty.stdout)
    for raw in RAW:
        assert raw not in pretty.stdout and raw not in compact.stdout
    # Written a thread at a time, it is still exactly the one compact array.
    from hitl_tui.cli.listing import _COMPACT
    from hitl_tui.safe_text import json_for_terminal

    assert compact.stdout == json_for_terminal(_COMPACT.encode(json.loads(compact.stdout))) + "\n"


def test_jsonl_is_one_thread_per_line_with_the_same_data(db: Path, tmp_path: Path) -> None:
    out = run_cli("list", "--db", str(db), "--jsonl", cwd=tmp_path)
    whole = json.loads(run_cli("list", "--db", str(db), "--json", cwd=tmp_path).stdout)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    # Read order, not sorted: the same threads and the same data, one compact object per line.
    assert sorted(rows, key=lambda r: r["thread_id"]) == sorted(whole, key=lambda r: r["thread_id"])
    assert len(out.stdout.splitlines()) == len(whole) == 5
    for raw in RAW:
        assert raw not in out.stdout


@pytest.mark.parametrize("form", ["--json", "--jsonl"])
def test_filters_pick_graph_action_and_status(db: Path, tmp_path: Path, form: str) -> None:
    lines = form == "--jsonl"

    def ids(*args: str) -> set[str]:
        return set(_ids(run_cli("list", "--db", str(db), form, *args, cwd=tmp_path), lines=lines))

    assert ids("--graph", "sends") == {"sends-1"}
    assert ids("--graph", "sends", "--graph", "subgraph") == {"sends-1", "subgraph-1"}
    assert ids("--action", "delete_file") == {"sends-1"}
    assert ids("--action", "pay", "--action", "send_email") == {"subgraph-1", "root-1"}
    assert ids("--graph", "root", "--action", "pay") == set()
    assert ids("--status", "running_or_stalled") == {"classic-1"}
    assert "classic-1" not in ids() and "classic-1" in ids("--all")
    assert ids("--status", "unreadable") == set()


@pytest.mark.parametrize("form", ["--json", "--jsonl"])
def test_limit_stops_after_n_threads(db: Path, tmp_path: Path, form: str) -> None:
    lines = form == "--jsonl"
    everything = _ids(run_cli("list", "--db", str(db), form, cwd=tmp_path), lines=lines)
    two = _ids(run_cli("list", "--db", str(db), form, "--limit", "2", cwd=tmp_path), lines=lines)
    assert two == everything[:2]
    one = _ids(run_cli("list", "--db", str(db), form, "--limit", "1", "--graph", "sends", cwd=tmp_path), lines=lines)
    assert one == ["sends-1"]


def test_table_takes_the_filters_too(db: Path, tmp_path: Path) -> None:
    out = run_cli("list", "--db", str(db), "--graph", "parallel", cwd=tmp_path)
    assert out.returncode == 0 and "parallel-1" in out.stdout and "root-1" not in out.stdout
    assert "1 thread(s) waiting, 2 pending interrupt(s)." in out.stdout


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["--limit", "0"], "--limit takes a whole number of threads, 1 or more, not '0'"),
        (["--status", "sleeping"], "invalid choice: 'sleeping'"),
        (["--json", "--jsonl"], "not allowed with argument"),
        (["--jsonl", "--pretty"], "--pretty indents a JSON array; --jsonl writes one thread per line: choose one."),
    ],
)
def test_bad_list_options_are_one_sentence(db: Path, tmp_path: Path, args: list[str], sentence: str) -> None:
    out = run_cli("list", "--db", str(db), *args, cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert sentence in out.stderr and "Traceback" not in out.stderr


def test_jsonl_writes_the_first_thread_before_the_read_ends(tmp_path: Path) -> None:
    """Streaming, checked without a clock: the first line is out while the reader is still inside its read."""
    path = tmp_path / "many.db"
    with open_saver(path) as saver:
        graph = SHAPES["root"].compile(saver)
        for i in range(300):  # more than the reader's first batch
            graph.invoke(SHAPES["root"].start, cfg(f"t-{i:03d}", "root"))
    seen_inside_read: list[int] = []

    class Probe:
        def __init__(self) -> None:
            self.lines = 0

        def write(self, text: str) -> int:
            self.lines += text.count("\n")
            return len(text)

        def flush(self) -> None:
            seen_inside_read.append(self.lines)

    from hitl_tui.cli.listing import JsonLines

    probe = Probe()
    reader = CheckpointReader(path)
    reader.stream(JsonLines(probe).write)  # type: ignore[arg-type]
    reader.close()
    assert probe.lines == 300
    assert len(seen_inside_read) >= 2 and 0 < seen_inside_read[0] < 300
