"""prepare_demo / run_live: a demo directory whose every thread is paused, a config that names every graph,
and graphs another process can build on the same DB file and resume."""

from __future__ import annotations

import importlib
import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from demo_fixtures import cfg, clean_env

from hitl_tui.config import load_config
from hitl_tui.demo import DemoEnv, prepare_demo, read_outbox, run_live
from hitl_tui.demo.catalog import AGENTS

FIXTURES = (clean_env,)  # pytest finds fixtures by module attribute
DYNAMIC = {a.graph_id for a in AGENTS} - {"plan_execute"}


@pytest.fixture
def env(tmp_path: Path) -> Any:
    prepared = prepare_demo(tmp_path / "demo")
    yield prepared
    prepared.close()


def latest_per_thread(db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT thread_id, metadata FROM checkpoints c WHERE checkpoint_ns = '' AND checkpoint_id = "
            "(SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = c.thread_id AND checkpoint_ns = '')"
        ).fetchall()
    return {thread: json.loads(meta) for thread, meta in rows}


def test_config_names_every_graph_and_loads(env: DemoEnv) -> None:
    config = load_config(env.config_path)
    assert config.db == env.db_path
    assert config.outbox == env.outbox_path
    assert config.audit_log == env.directory / "decisions.jsonl"
    assert set(config.graphs) == {a.graph_id for a in AGENTS}
    for graph_id, graph in config.graphs.items():
        module_name, _, attr = str(graph.graph).partition(":")
        module = importlib.import_module(module_name)
        assert attr == "build_graph" and graph_id == module.GRAPH_ID
    plan = config.graphs["plan_execute"]
    assert plan.interrupt_before == ("execute",)
    assert plan.action_field == "pending_action"
    assert plan.approve_update == {"human_feedback": "approved"}
    assert plan.reject_update == {"human_feedback": "rejected: {reason}"}
    assert plan.feedback_update == {"human_feedback": "{text}"}


def test_every_thread_is_paused_and_attributed(env: DemoEnv) -> None:
    latest = latest_per_thread(env.db_path)
    expected = {f"{a.prefix}-{n:04d}": a.graph_id for a in AGENTS for n in (1, 2)}
    assert {t: m["graph_id"] for t, m in latest.items()} == expected
    for thread, graph_id in expected.items():
        state = env.graph(graph_id).get_state(cfg(thread), subgraphs=True)
        assert state.next, thread
        assert bool(state.interrupts) == (graph_id in DYNAMIC), thread
    assert read_outbox(env.outbox_path) == []  # nothing ran before a person decided


def test_prepare_is_quick_and_wipes_the_previous_demo(tmp_path: Path) -> None:
    first = prepare_demo(tmp_path / "demo", threads_per_agent=1)
    first.graph("email_agent").invoke({"request": "Email a@example.com saying hi"}, cfg("extra-thread"))
    first.close()
    (tmp_path / "demo" / "outbox.jsonl").write_text('{"effect": "old"}\n')
    (tmp_path / "demo" / "decisions.jsonl").write_text("old\n")
    (tmp_path / "demo" / "decisions.jsonl.head").write_text("old\n")
    started = time.perf_counter()
    second = prepare_demo(tmp_path / "demo", threads_per_agent=3)
    took = time.perf_counter() - started
    second.close()
    print(f"prepare_demo(threads_per_agent=3) took {took:.2f}s")
    assert took < 10  # about 1 s on a 2-core machine once langgraph is imported
    latest = latest_per_thread(second.db_path)
    assert "extra-thread" not in latest and len(latest) == 3 * len(AGENTS)
    assert not (tmp_path / "demo" / "decisions.jsonl").exists()
    assert not (tmp_path / "demo" / "decisions.jsonl.head").exists()
    # Only the routine question (the 4th confidence request) would send without review; 3 per agent all pause.
    assert read_outbox(second.outbox_path) == []


def test_run_live_keeps_adding_threads_until_stopped(env: DemoEnv) -> None:
    before = len(latest_per_thread(env.db_path))
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run_live(env, 0.01, stop)))
    worker.start()
    deadline = time.monotonic() + 60
    while len(latest_per_thread(env.db_path)) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    worker.join(timeout=30)
    assert not worker.is_alive()
    after = latest_per_thread(env.db_path)
    assert len(after) == before + result[0] >= before + 3
    assert {"email-0003", "plan-0003", "confidence-0003"} <= set(after)


CHILD = textwrap.dedent(
    """
    import importlib, json, os, sys
    from pathlib import Path
    from langgraph.types import Command
    from hitl_tui.config import load_config
    from hitl_tui.demo import open_saver

    config = load_config(Path(sys.argv[1]))
    saver = open_saver(config.db)

    def graph(graph_id):
        module, _, attr = config.graphs[graph_id].graph.partition(":")
        return getattr(importlib.import_module(module), attr)(saver)

    email = graph("email_agent")
    cfg = {"configurable": {"thread_id": "email-0001", "hitl_decision_id": "x-email"}}
    email.invoke(Command(resume={"decision": "approve"}), cfg)
    plan = graph("plan_execute")
    cfg = {"configurable": {"thread_id": "plan-0001", "hitl_decision_id": "x-plan"}}
    plan.update_state(cfg, config.graphs["plan_execute"].approve_update)
    plan.invoke(None, cfg)
    par = graph("parallel_approvals")
    cfg = {"configurable": {"thread_id": "parallel-0001", "hitl_decision_id": "x-par"}}
    ids = [i.id for i in par.get_state(cfg).interrupts]
    par.invoke(Command(resume={i: {"decision": "approve"} for i in ids}), cfg)
    print(json.dumps({"pid": os.getpid()}))
    """
)


def test_another_process_builds_the_graphs_from_the_config_and_resumes(env: DemoEnv) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(env.config_path)], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr
    pid = json.loads(child.stdout)["pid"]
    lines = read_outbox(env.outbox_path)
    assert sorted((x["thread_id"], x["effect"], x["decision_id"]) for x in lines) == [
        ("email-0001", "send_email", "x-email"),
        ("parallel-0001", "grant_access", "x-par"),
        ("parallel-0001", "transfer", "x-par"),
        ("plan-0001", "transfer", "x-plan"),
    ]
    assert {x["pid"] for x in lines} == {pid}
    # This process's graphs see what the other process did.
    assert env.graph("email_agent").get_state(cfg("email-0001")).next == ()
    assert env.graph("plan_execute").get_state(cfg("plan-0001")).values["status"] == "executed"
    assert latest_per_thread(env.db_path)["plan-0001"]["graph_id"] == "plan_execute"


def test_importing_the_demo_package_is_cheap() -> None:
    code = (
        "import sys, hitl_tui.demo, hitl_tui.demo.catalog, hitl_tui.demo.outbox; "
        "print(sorted(m for m in ('langgraph', 'openai', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
    code = (
        "import sys, importlib; [importlib.import_module(m) for m in sys.argv[1:]]; "
        "print(sorted(m for m in ('openai', 'textual') if m in sys.modules))"
    )
    modules = [a.module for a in AGENTS] + ["hitl_tui.demo.planner"]
    out = subprocess.run(
        [sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"  # openai only when a model call is made; never textual
