"""Shared set-up and checks for the decisions tests (tests/test_decisions_*.py, tests/test_cli_decide.py).

An `Env` is a demo directory (real SQLite checkpoint DB, outbox, audit log, config.toml naming every demo graph)
plus this folder's `decisions_graph.py` agents. Child processes come from a forkserver that preloaded LangGraph:
they are real, separate processes (SIGKILL really kills them) that start in milliseconds instead of the
~3.5 s a cold `import langgraph` takes here, and the server holds no DB connection that a fork could share.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hitl_tui.config import Config, load_config
from hitl_tui.decisions.decision import Decision
from hitl_tui.demo.kit import run_config
from hitl_tui.demo.outbox import read_outbox
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingThread

TESTS = Path(__file__).resolve().parent
GRAPH_FILE = TESTS / "decisions_graph.py"
CRASHY = "crashy"
CRASHY_BREAKPOINT = "crashy_breakpoint"
CRASHY_TWIN = "crashy_twin"  # configured with a graph that can't be loaded
OURS = (CRASHY, CRASHY_TWIN, CRASHY_BREAKPOINT)
FIXED_NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)

EXTRA_CONFIG = f"""
[graphs.{CRASHY}]
graph = "{GRAPH_FILE}:build_graph"

[graphs.{CRASHY_TWIN}]
graph = "{GRAPH_FILE}:no_such_attribute"

[graphs.{CRASHY_BREAKPOINT}]
graph = "{GRAPH_FILE}:breakpoint_graph"
interrupt_before = ["act"]
action_field = "args"
approve_update = {{ human_feedback = "approved" }}
reject_update = {{ human_feedback = "rejected: {{reason}}" }}
feedback_update = {{ human_feedback = "{{text}}" }}
"""


def operator(name: str, uid: int = 1000) -> Operator:
    """A named operator (tests tell processes apart by name; identity itself is tested elsewhere)."""
    return Operator(uid=uid, user=name, host="testhost")


def approve(index: int = 0) -> Decision:
    return Decision(DecisionKind.APPROVE, index)


def reject(reason: str = "no", index: int = 0) -> Decision:
    return Decision(DecisionKind.REJECT, index, text=reason)


def edit(args: Any, index: int = 0) -> Decision:
    return Decision(DecisionKind.EDIT, index, args=args)


def feedback(text: str, index: int = 0) -> Decision:
    return Decision(DecisionKind.FEEDBACK, index, text=text)


def ignore(index: int = 0) -> Decision:
    return Decision(DecisionKind.IGNORE, index)


@dataclass
class Env:
    """A demo directory with the test agents configured; graphs bound to this process's SqliteSaver."""

    directory: Path
    db: Path
    config_path: Path
    config: Config
    outbox: Path
    audit_path: Path
    demo: Any  # hitl_tui.demo.runner.DemoEnv

    def graph(self, graph_id: str) -> Any:
        if graph_id not in self.demo.graphs:
            if graph_id in OURS:
                import decisions_graph

                build = {CRASHY: decisions_graph.build_graph, CRASHY_TWIN: decisions_graph.twin_graph,
                         CRASHY_BREAKPOINT: decisions_graph.breakpoint_graph}[graph_id]
                self.demo.graphs[graph_id] = build(self.demo.saver)
            else:
                return self.demo.graph(graph_id)
        return self.demo.graphs[graph_id]

    def start(self, graph_id: str, count: int = 1, *, prefix: str | None = None, kind: str = "hitl") -> list[str]:
        """Run `count` new threads of a graph until they pause; returns their thread ids."""
        if graph_id not in OURS:
            return [self.demo.start(graph_id) for _ in range(count)]
        graph = self.graph(graph_id)
        prefix = prefix or graph_id
        started = self.demo.threads.setdefault(prefix, [])
        ids = []
        for _ in range(count):
            thread_id = f"{prefix}-{len(started) + 1:04d}"
            started.append(thread_id)
            graph.invoke({"request": f"box {thread_id}", "kind": kind}, run_config(graph_id, thread_id))
            ids.append(thread_id)
        return ids

    def thread(self, thread_id: str) -> PendingThread | None:
        from hitl_tui.checkpoints.reader import CheckpointReader

        reader = CheckpointReader(self.db, self.config)
        try:
            return reader.thread(thread_id)
        finally:
            reader.close()

    def paused(self, thread_id: str) -> PendingThread:
        thread = self.thread(thread_id)
        assert thread is not None and thread.interrupts, f"{thread_id} is not paused: {thread}"
        return thread

    def state(self, graph_id: str, thread_id: str) -> Any:
        """graph.get_state through a fresh saver (what the agent itself would see)."""
        return self.graph(graph_id).get_state({"configurable": {"thread_id": thread_id}})

    def desk(self, who: str = "olivia", *, resume_in_process: bool = True, clock: Any = None, **kw: Any) -> Any:
        from hitl_tui.decisions.desk import DecisionDesk

        return DecisionDesk(self.config, self.db, operator(who), clock=clock,
                            resume_in_process=resume_in_process, **kw)

    def resumer(self, who: str = "worker") -> Any:
        """A Resumer with its own ledger, like `hitl-tui worker` builds."""
        from hitl_tui.decisions.ledger import DecisionLedger
        from hitl_tui.decisions.resumer import Resumer

        return Resumer(DecisionLedger(self.db, self.config), self.config, self.db, actor=operator(who))

    def outbox_lines(self) -> list[dict[str, Any]]:
        return read_outbox(self.outbox)

    def close(self) -> None:
        self.demo.close()


def make_env(directory: Path) -> Env:
    """A fresh demo directory (no threads yet) whose config also names the test agents."""
    from hitl_tui.demo.runner import prepare_demo

    demo = prepare_demo(directory, threads_per_agent=0)
    with open(demo.config_path, "a", encoding="utf-8") as fh:
        fh.write(EXTRA_CONFIG)
    config = load_config(demo.config_path)
    demo.config = config
    return Env(directory, demo.db_path, demo.config_path, config, demo.outbox_path, config.audit_log, demo)


# -- what the checks look at --------------------------------------------------------------------------------


def _has_ledger(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'hitl_decisions'").fetchone() is not None


def ledger_rows(db: Path) -> list[dict[str, Any]]:
    """Every decision row, oldest first ([] when no ledger was ever created in this DB)."""
    with sqlite3.connect(db) as conn:
        if not _has_ledger(conn):
            return []
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM hitl_decisions ORDER BY rowid")]


def events(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        if not _has_ledger(conn):
            return []
        return [
            {"seq": s, "event_id": e, "flushed": f, **json.loads(r)}
            for s, e, r, f in conn.execute("SELECT seq, event_id, record, flushed FROM hitl_events ORDER BY seq")
        ]


def forked_checkpoints(db: Path) -> list[tuple[str, str, int]]:
    """(thread, parent checkpoint, children) for every root checkpoint with more than one child."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT thread_id, parent_checkpoint_id, COUNT(*) FROM checkpoints WHERE checkpoint_ns = '' "
            "AND parent_checkpoint_id IS NOT NULL GROUP BY thread_id, parent_checkpoint_id HAVING COUNT(*) > 1"
        ).fetchall()


def audit_records(path: Path) -> list[dict[str, Any]]:
    from hitl_tui.audit import iter_records

    return list(iter_records(path)) if path.exists() else []


def effects_per_thread(lines: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(line["thread_id"] for line in lines)


def check_audit_matches_ledger(env: Env) -> None:
    """The log verifies; every DB event is in it exactly once and in commit order; each decision has both."""
    from hitl_tui.audit import verify

    report = verify(env.audit_path)
    assert report.ok, report.reason
    logged = audit_records(env.audit_path)
    ids = [r["event_id"] for r in logged]
    assert len(ids) == len(set(ids)), "an event was logged twice"
    db_events = events(env.db)
    assert all(e["flushed"] == 1 for e in db_events), "an event was never copied to the audit log"
    db_order = [e["event_id"] for e in db_events]
    in_log = [i for i in ids if i in set(db_order)]
    assert in_log == db_order, "the audit log's order differs from the commit order"
    for row in ledger_rows(env.db):
        assert ids.count(f"{row['decision_id']}:decided") == 1
        if row["state"] not in ("decided", "resuming"):
            assert ids.count(f"{row['decision_id']}:outcome") == 1
            assert ids.index(f"{row['decision_id']}:decided") < ids.index(f"{row['decision_id']}:outcome")


# -- child processes ----------------------------------------------------------------------------------------

PRELOAD = [
    "langgraph.graph",
    "langgraph.types",
    "langgraph.checkpoint.sqlite",
    "hitl_tui.decisions.desk",
    "hitl_tui.decisions.resumer",
    "hitl_tui.demo.email_agent",
    "helpers_decisions",
]


@functools.cache
def processes() -> Any:
    """The multiprocessing context for test children: forkserver with LangGraph preloaded."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def run_children(
    target: Callable[..., Any], arg_lists: Sequence[tuple[Any, ...]], *, timeout: float = 120
) -> list[int]:
    """Start one child per argument tuple, wait for all, return their exit codes (-9 = SIGKILLed)."""
    ctx = processes()
    children = [ctx.Process(target=target, args=args) for args in arg_lists]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout)
    stuck = [c.pid for c in children if c.is_alive()]
    for child in children:
        if child.is_alive():
            child.kill()
            child.join()
    assert not stuck, f"children {stuck} did not finish within {timeout} s"
    return [c.exitcode for c in children]


def _guarded(out: Path, body: Callable[[], Any]) -> None:
    """Run a child's body; write its result (or its traceback) as JSON to `out` for the parent."""
    try:
        result = {"ok": True, "result": body()}
    except BaseException:
        result = {"ok": False, "error": traceback.format_exc()}
    out.write_text(json.dumps(result, default=str))


def read_result(out: Path) -> Any:
    data = json.loads(out.read_text())
    assert data["ok"], data.get("error")
    return data["result"]


def race_choice(thread_id: str, worker: int) -> str:
    """Workers disagree on purpose: half of them approve a thread, the other half reject it."""
    return "approve" if (int(thread_id.rsplit("-", 1)[1]) + worker) % 2 == 0 else "reject"


def race_through(db: Any, config: Any, worker: int, shuffle_seed: int | None, barrier: Any) -> dict[str, Any]:
    """Read every paused thread of `db` (a SQLite path or a Postgres URL), wait for the other racers, then decide
    and resume them all as fast as possible: what this racer won, what it was refused, how many it saw."""
    from hitl_tui.decisions.backend import open_thread_reader
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.errors import DecisionRefused

    reader = open_thread_reader(db, config)
    threads = [t for t in reader.read_all().threads if t.interrupts]
    reader.close()
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(threads)
    desk = DecisionDesk(config, db, operator(f"racer-{worker}"))
    assert desk.resumer is not None
    won: dict[str, Any] = {}
    refused: dict[str, str] = {}
    barrier.wait()
    for thread in threads:
        choice = race_choice(thread.thread_id, worker)
        decision = approve() if choice == "approve" else reject(f"racer {worker} says no")
        try:
            result = desk.decide(thread, thread.interrupts[0], [decision])
        except DecisionRefused as refusal:
            refused[thread.thread_id] = refusal.message
        else:
            won[thread.thread_id] = {"decision_id": result.records[0].decision_id, "choice": choice}
        desk.resumer.run(limit=1)  # also race to resume what others decided
    desk.resumer.run()
    desk.flush_audit()
    desk.close()
    return {"won": won, "refused": refused, "seen": len(threads)}


def race_worker(config_path: str, worker: int, shuffle_seed: int | None, barrier: Any, out: str) -> None:
    """A racer on the config's SQLite DB (see race_through)."""

    def body() -> dict[str, Any]:
        config = load_config(Path(config_path))
        assert config.db is not None
        return race_through(config.db, config, worker, shuffle_seed, barrier)

    _guarded(Path(out), body)


def plain_invoke_worker(config_path: str, graph_id: str, thread_ids: list[str], barrier: Any, out: str) -> None:
    """What plain LangGraph does: every process resumes every thread with Command(resume=...)."""

    def body() -> int:
        from langgraph.types import Command

        from hitl_tui.checkpoints.reader import CheckpointReader
        from hitl_tui.decisions.graph_loader import GraphRegistry

        config = load_config(Path(config_path))
        assert config.db is not None
        reader = CheckpointReader(config.db, config)
        seen = {tid: reader.thread(tid) for tid in thread_ids}
        reader.close()
        graph = GraphRegistry(config, config.db).get(graph_id)
        barrier.wait()
        for tid, thread in seen.items():
            assert thread is not None
            answer = {"decision": "approve"}
            graph.invoke(Command(resume={thread.interrupts[0].interrupt_id: answer}),
                         {"configurable": {"thread_id": tid}})
        return len(seen)

    _guarded(Path(out), body)


def resume_in_child(
    config_path: str, env_vars: dict[str, str], decision_id: str | None, recover: bool = False,
    kill_before_phase: str | None = None,
) -> None:
    """A resumer process, set up to crash: by env (HITL_TUI_CRASH_AT, HITL_TEST_KILL), or right before it notes
    phase `kill_before_phase` (e.g. after update_state stored the update, before the ledger knows)."""
    os.environ.update(env_vars)
    from hitl_tui.decisions.ledger import DecisionLedger
    from hitl_tui.decisions.resumer import Resumer

    config = load_config(Path(config_path))
    assert config.db is not None
    ledger = DecisionLedger(config.db, config)
    if kill_before_phase is not None:
        note = ledger.set_phase

        def set_phase(batch: Any, phase: str) -> None:
            if phase == kill_before_phase:
                os.kill(os.getpid(), signal.SIGKILL)
            note(batch, phase)

        ledger.set_phase = set_phase  # type: ignore[method-assign]
    resumer = Resumer(ledger, config, config.db, actor=operator("child-resumer"))
    if recover:
        resumer.recover()
    resumer.run(decision_id=decision_id)
    resumer.close()
    ledger.close()


def hold_claim_child(config_path: str, decision_id: str, claimed: Any, release: Any) -> None:
    """A live resumer: claims one decision, then holds the claim until told to give it back."""
    from hitl_tui.decisions.ledger import DecisionLedger
    from hitl_tui.decisions.resumer import claimant_id

    config = load_config(Path(config_path))
    assert config.db is not None
    ledger = DecisionLedger(config.db, config)
    batch = ledger.claim_next(claimant_id(), decision_id=decision_id)
    assert batch, "nothing to claim"
    claimed.set()
    release.wait(60)
    ledger.release(batch)
    ledger.close()


def decide_subset_worker(config_path: str, worker: int, thread_ids: list[str], barrier: Any, out: str) -> None:
    """Approve (and resume) these threads only: workers on disjoint threads still share one audit log."""

    def body() -> int:
        from hitl_tui.checkpoints.reader import CheckpointReader
        from hitl_tui.decisions.desk import DecisionDesk

        config = load_config(Path(config_path))
        assert config.db is not None
        reader = CheckpointReader(config.db, config)
        threads = [reader.thread(tid) for tid in thread_ids]
        reader.close()
        desk = DecisionDesk(config, config.db, operator(f"appender-{worker}"))
        barrier.wait()
        for thread in threads:
            assert thread is not None
            desk.decide(thread, thread.interrupts[0], [approve()])
        desk.close()
        return len(threads)

    _guarded(Path(out), body)


def submit_then_die(config_path: str, thread_ids: list[str], die_at: str, appends_before_death: int = 0) -> None:
    """Commit decisions on these threads, then SIGKILL this process: right after the commit (`commit`), after
    `appends_before_death` audit appends (`append`), or after every append but before marking them (`mark`)."""
    from hitl_tui.audit import AuditLog
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.decisions.ledger import DecisionLedger

    config = load_config(Path(config_path))
    assert config.db is not None
    reader = CheckpointReader(config.db, config)
    ledger = DecisionLedger(config.db, config)
    who = operator("doomed")
    for tid in thread_ids:
        thread = reader.thread(tid)
        assert thread is not None
        ledger.submit(thread, [(thread.interrupts[0], [approve()])], who)
    if die_at == "commit":
        os.kill(os.getpid(), signal.SIGKILL)
    audit = AuditLog(config.audit_log)
    if die_at == "append":
        append_many = audit.append_many

        def dying_append_many(items: Any) -> Any:
            append_many(items[:appends_before_death])  # these made it into the log...
            os.kill(os.getpid(), signal.SIGKILL)  # ...the rest did not

        audit.append_many = dying_append_many  # type: ignore[method-assign]
    if die_at == "mark":
        transaction = ledger.transaction

        def dying_transaction(*, durable: bool = True) -> Any:
            if not durable:  # the flushed marks (a relaxed commit); the sync before the appends is a durable one
                os.kill(os.getpid(), signal.SIGKILL)
            return transaction(durable=durable)

        ledger.transaction = dying_transaction  # type: ignore[method-assign]
    ledger.flush_audit(audit)
    raise AssertionError("should have died")


def decide_in_child(config_path: str, env_vars: dict[str, str], thread_id: str, choice: str) -> None:
    """A console deciding and resuming in-process (its claim is made in the decision's own commit), set up to
    crash by env like `resume_in_child`."""
    os.environ.update(env_vars)
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.decisions.desk import DecisionDesk

    config = load_config(Path(config_path))
    assert config.db is not None
    reader = CheckpointReader(config.db, config)
    thread = reader.thread(thread_id)
    reader.close()
    assert thread is not None
    desk = DecisionDesk(config, config.db, operator("doomed-console"))
    desk.decide(thread, thread.interrupts[0], [approve() if choice == "approve" else reject("no")])
    desk.close()


@pytest.fixture
def env(tmp_path: Path) -> Any:
    """A fresh demo DB with config, outbox and audit log; imported by the decisions test modules."""
    e = make_env(tmp_path / "demo")
    yield e
    e.close()
