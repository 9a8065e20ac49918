"""Deadlines and escalation marks with an injected clock, and the sweeper that times items out: it rejects,
never approves, each item once, and loses gracefully to a person who decided first."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from demo_fixtures import clean_env
from test_policy_fixtures import SHAPES_GRAPH_ID, PolicyEnv, make_env, no_config_env, person

from hitl_tui.audit import iter_records, verify
from hitl_tui.config import Config, PolicyConfig, RiskRule
from hitl_tui.decisions.decision import Decision, DecisionState
from hitl_tui.decisions.desk import DecisionDesk
from hitl_tui.errors import ConfigError, DecisionRefused
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingThread
from hitl_tui.policy.requirements import requirements_for
from hitl_tui.policy.timeouts import TimeoutSweeper, escalation, escalation_for, escalation_sort_key

FIXTURES = (clean_env, no_config_env)
D = DecisionKind
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
REQUEST = "Send an email to dana@example.com saying the Q3 report is ready for review"


@pytest.mark.parametrize(
    ("seconds", "level"),
    [(0, "ok"), (49.999, "ok"), (50, "half"), (79.999, "half"), (80, "urgent"), (99.999, "urgent"),
     (100, "overdue"), (5000, "overdue"), (-30, "ok")],
)
def test_escalation_marks(seconds: float, level: str) -> None:
    esc = escalation(T0 + timedelta(seconds=100), T0, T0 + timedelta(seconds=seconds))
    assert esc.level == level
    assert esc.seconds_left == pytest.approx(100 - seconds)


def test_escalation_sorts_the_most_pressing_first() -> None:
    deadline = T0 + timedelta(seconds=100)
    at = {s: escalation(deadline, T0, T0 + timedelta(seconds=s)) for s in (10, 60, 85, 95, 150)}
    items = [at[10], None, at[85], at[150], at[60], at[95]]
    assert sorted(items, key=escalation_sort_key) == [at[150], at[95], at[85], at[60], at[10], None]
    assert [i.rank for i in (at[10], at[60], at[85], at[150])] == [0, 1, 2, 3]


def test_escalation_for_uses_the_rule_deadline_and_the_pause_time() -> None:
    from hitl_tui.model import ActionRequest, PayloadShape, PendingInterrupt, ThreadStatus

    interrupt = PendingInterrupt("i", "", "n", {}, PayloadShape.HITL, (ActionRequest("transfer", {"amount": 5}),), "h")
    thread = PendingThread("t", "g", "c", 1, T0, ("n",), ThreadStatus.PAUSED, (interrupt,))
    config = Config(policy=PolicyConfig(rules=(RiskRule(action="transfer", deadline_seconds=60),),
                                        default_deadline_seconds=3600))
    esc = escalation_for(config, thread, interrupt, T0 + timedelta(seconds=30))
    assert esc is not None and (esc.level, esc.deadline_at) == ("half", T0 + timedelta(seconds=60))
    assert escalation_for(Config(), thread, interrupt, T0) is None  # no deadline configured anywhere
    no_time = PendingThread("t", "g", "c", 1, None, ("n",), ThreadStatus.PAUSED, (interrupt,))
    assert escalation_for(config, no_time, interrupt, T0) is None


# -- the sweeper on a real DB --------------------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(tmp_path: Path) -> Iterator[PolicyEnv]:
    e = make_env(tmp_path, """
[policy]
default_deadline_seconds = 600

[[policy.rule]]
action = "send_email"
when = { to = { contains = "@globex.io" } }
risk = "high"
deadline_seconds = 60
""", graphs=("email_agent", SHAPES_GRAPH_ID))
    yield e
    e.close()


def sweeper_for(env: PolicyEnv, clock: Callable[[], datetime]) -> tuple[TimeoutSweeper, Callable[[], None]]:
    desk = env.desk(person(4000, "worker-owner"), clock=clock)
    sweeper = TimeoutSweeper(env.config, env.db_path, desk, clock=clock)

    def close() -> None:
        sweeper.close()
        desk.close()

    return sweeper, close


def paused_at(env: PolicyEnv, thread_id: str) -> datetime:
    at = env.thread(thread_id).paused_at
    assert at is not None
    return at


def test_overdue_items_are_rejected_once_and_never_approved(env: PolicyEnv) -> None:
    env.start("t-globex", "Write to billing@globex.io about the overdue invoice #4411")  # 60 s rule
    env.start("t-dana", REQUEST)  # 600 s default
    start = max(paused_at(env, "t-globex"), paused_at(env, "t-dana"))
    clock = Clock(start + timedelta(seconds=59))
    sweeper, close = sweeper_for(env, clock)
    try:
        assert sweeper.sweep() == 0 and env.decisions() == []
        clock.now = paused_at(env, "t-globex") + timedelta(seconds=60)  # exactly at the deadline: overdue
        assert sweeper.sweep() == 1
        assert sweeper.sweep() == 0  # exactly once
        clock.now = start + timedelta(seconds=599)
        assert sweeper.sweep() == 0
        clock.now = start + timedelta(seconds=600)
        assert sweeper.sweep() == 1
        assert sweeper.sweep() == 0
    finally:
        close()
    rows = env.decisions()
    assert [(r["thread_id"], r["actor_kind"], r["operator"].split("@")[0], r["state"]) for r in rows] == [
        ("t-globex", "policy", "policy:timeout", DecisionState.FINISHED.value),
        ("t-dana", "policy", "policy:timeout", DecisionState.FINISHED.value),
    ]
    assert all('"kind":"reject"' in r["decisions"] and "timed out" in r["decisions"] for r in rows)
    assert env.outbox() == []  # nothing was sent
    timeouts = [r for r in iter_records(env.audit_path) if r["event"] == "timeout"]
    assert [(r["thread_id"], r["decision"], r["text"], r["reason"]) for r in timeouts] == [
        ("t-globex", "reject", "timed out", "timed out"), ("t-dana", "reject", "timed out", "timed out")]
    assert timeouts[0]["actor"]["kind"] == "policy" and timeouts[0]["actor"]["policy"] == "timeout"
    assert timeouts[0]["deadline_at"] == (paused_at_from(timeouts[0]) + timedelta(seconds=60)).isoformat()
    assert verify(env.audit_path).ok


def paused_at_from(record: dict) -> datetime:
    return datetime.fromisoformat(record["paused_at"])


def test_a_person_who_decided_first_wins_and_the_timeout_is_not_counted(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    seen = env.thread("t-1")
    clock = Clock(paused_at(env, "t-1") + timedelta(hours=1))
    sweeper, close = sweeper_for(env, clock)
    try:
        assert [t.thread_id for t, _ in sweeper.overdue()] == ["t-1"]
        human = env.desk(person(2001, "alice"), resume=False)  # decided, not resumed yet: still paused
        try:
            human.decide(seen, seen.interrupts[0], [Decision(D.APPROVE)])
        finally:
            human.close()
        assert sweeper.sweep() == 0 and sweeper.refused == 1
    finally:
        close()
    [row] = env.decisions()
    assert (row["actor_kind"], '"kind":"approve"' in row["decisions"]) == ("human", True)


def test_a_person_who_comes_second_is_told_it_timed_out(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    seen = env.thread("t-1")
    clock = Clock(paused_at(env, "t-1") + timedelta(hours=1))
    sweeper, close = sweeper_for(env, clock)
    try:
        assert sweeper.sweep() == 1
    finally:
        close()
    human = env.desk(person(2001, "alice"))
    try:
        with pytest.raises(DecisionRefused, match=r"Already decided \(reject\) by policy:timeout"):
            human.decide(seen, seen.interrupts[0], [Decision(D.APPROVE)])
    finally:
        human.close()
    assert env.outbox() == []


def test_four_eyes_votes_in_progress_still_time_out(tmp_path: Path) -> None:
    env = make_env(tmp_path, '[[policy.rule]]\naction = "send_email"\napprovals = 2\ndeadline_seconds = 30\n')
    try:
        env.start("t-1", REQUEST)
        human = env.desk(person(2001, "alice"))
        try:
            seen = env.thread("t-1")
            assert human.decide(seen, seen.interrupts[0], [Decision(D.APPROVE)]).awaiting_approvals
        finally:
            human.close()
        clock = Clock(paused_at(env, "t-1") + timedelta(seconds=30))
        sweeper, close = sweeper_for(env, clock)
        try:
            assert sweeper.sweep() == 1
        finally:
            close()
        [row] = env.decisions()
        assert row["actor_kind"] == "policy" and env.outbox() == []
    finally:
        env.close()


def test_payloads_without_reject_get_the_safest_answer_or_are_skipped(env: PolicyEnv) -> None:
    env.start("s-inbox", "doc-1", graph_id=SHAPES_GRAPH_ID, shape="inbox_no_respond")
    env.start("s-raw", "doc-2", graph_id=SHAPES_GRAPH_ID, shape="raw")
    env.start("s-approve-only", "doc-3", graph_id=SHAPES_GRAPH_ID, shape="approve_only")
    clock = Clock(datetime.now(UTC) + timedelta(hours=1))
    sweeper, close = sweeper_for(env, clock)
    try:
        assert sweeper.sweep() == 2
        assert [(s.thread_id, "accepts no answer that doesn't approve" in s.reason) for s in sweeper.skipped] == [
            ("s-approve-only", True)]
        assert sweeper.sweep() == 0 and len(sweeper.skipped) == 1  # still reported, still not approved
    finally:
        close()
    kinds = {r["thread_id"]: r["decisions"] for r in env.decisions()}
    assert set(kinds) == {"s-inbox", "s-raw"}
    assert '"kind":"ignore"' in kinds["s-inbox"] and '"kind":"feedback"' in kinds["s-raw"]
    graph = env.graph(SHAPES_GRAPH_ID)
    cfg = {"configurable": {"thread_id": "s-inbox"}}
    assert graph.get_state(cfg).values["answer"] == [{"type": "ignore", "args": None}]
    assert graph.get_state({"configurable": {"thread_id": "s-raw"}}).values["answer"] == "timed out"
    assert env.thread("s-approve-only").interrupts  # still waiting for a person


def test_no_deadline_configured_means_no_sweeping(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    try:
        env.start("t-1", REQUEST)
        sweeper, close = sweeper_for(env, Clock(datetime.now(UTC) + timedelta(days=365)))
        try:
            assert sweeper.sweep() == 0 and sweeper.overdue() == []
        finally:
            close()
    finally:
        env.close()


def test_a_rule_that_cannot_be_applied_stops_the_config_and_the_sweeper(tmp_path: Path) -> None:
    bad_rule = '[[policy.rule]]\naction = "x"\nwhen = { a = { "=>" = 1 } }\ndeadline_seconds = 5\n'
    with pytest.raises(ConfigError, match="unknown operator"):
        make_env(tmp_path / "bad", bad_rule)  # load_config refuses it
    env = make_env(tmp_path / "good")
    # A Config built in code skips load_config's check: the sweeper and the requirements still refuse it.
    bad = Config(graphs=env.config.graphs, audit_log=env.config.audit_log, policy=PolicyConfig(
        rules=(RiskRule(action="x", when={"a": {"=>": 1}}, deadline_seconds=5),)))
    try:
        desk = DecisionDesk(bad, env.db_path, Operator.policy("worker"))
        try:
            with pytest.raises(ConfigError, match="unknown operator"):
                TimeoutSweeper(bad, env.db_path, desk)
        finally:
            desk.close()
        with pytest.raises(ConfigError, match="unknown operator"):
            requirements_for(bad)
    finally:
        env.close()


def test_every_demo_payload_shape_times_out_without_running_anything(tmp_path: Path) -> None:
    from hitl_tui.config import load_config
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.demo.outbox import read_outbox
    from hitl_tui.demo.runner import prepare_demo

    demo = prepare_demo(tmp_path / "demo", threads_per_agent=1)
    demo.close()
    # One short deadline for everything (the demo's own rules give some actions longer ones).
    config = dataclasses.replace(load_config(demo.config_path), policy=PolicyConfig(default_deadline_seconds=60))
    before = read_outbox(demo.outbox_path)
    clock = Clock(datetime.now(UTC) + timedelta(hours=1))
    desk = DecisionDesk(config, demo.db_path, person(4000, "worker-owner"), clock=clock)
    sweeper = TimeoutSweeper(config, demo.db_path, desk, clock=clock)
    try:
        pending = sum(len(items) for _, items in sweeper.overdue())
        assert pending >= 10  # every demo agent, two of them with two interrupts
        assert sweeper.sweep() == pending and sweeper.skipped == []
        assert sweeper.sweep() == 0
    finally:
        sweeper.close()
        desk.close()
    with sqlite3.connect(demo.db_path) as conn:
        rows = conn.execute("SELECT graph_id, actor_kind, decisions, state FROM hitl_decisions").fetchall()
    assert len(rows) == pending
    shapes = set()
    for graph_id, actor_kind, decisions, state in rows:
        kinds = {d["kind"] for d in json.loads(decisions)}
        assert actor_kind == "policy" and kinds <= {"reject", "ignore", "feedback"}, (graph_id, kinds)
        assert state in ("finished", "paused_again"), (graph_id, state)
        shapes.add(graph_id)
    assert len(shapes) == 8
    assert read_outbox(demo.outbox_path) == before  # no side effect ran for a timed-out item
