"""The console's wording of an item's shared state, from the ledger tables of a real DB (no UI): open four-eyes
votes cast through one desk are read by a reader that never saw them being cast, and decisions read as "rejected
by bob" with their reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_fixtures import clean_env
from test_policy_fixtures import PolicyEnv, make_env, no_config_env, person

from hitl_tui.console.item_state import ItemState
from hitl_tui.decisions.decision import Decision, DecisionState
from hitl_tui.decisions.ledger import DecisionLedger, LedgerView
from hitl_tui.decisions.state import ItemKey, Voter, open_votes
from hitl_tui.model import DecisionKind

FIXTURES = (clean_env, no_config_env)
RULES = """
[[policy.rule]]
action = "send_email"
approvals = 2
"""
REQUEST = "Send an email to dana@example.com saying the Q3 report is ready for review"
ALICE, BOB = person(2001, "alice"), person(2002, "bob")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[PolicyEnv]:
    e = make_env(tmp_path, RULES)
    yield e
    e.close()


def key_of(env: PolicyEnv, thread_id: str) -> ItemKey:
    thread = env.thread(thread_id)
    return (thread.thread_id, thread.checkpoint_id, thread.interrupts[0].key)


def decide(env: PolicyEnv, who, decision: Decision, thread_id: str) -> None:  # type: ignore[no-untyped-def]
    desk = env.desk(who)
    try:
        thread = env.thread(thread_id)
        desk.decide(thread, thread.interrupts[0], [decision])
    finally:
        desk.close()


def shared_states(ledger) -> dict[ItemKey, ItemState]:  # type: ignore[no-untyped-def]
    """What a console's ledger feed reads each tick: the recent records and the open votes."""
    states = {key: ItemState(voters=voters) for key, voters in open_votes(ledger.connection).items()}
    for record in ledger.recent_records():
        states[(record.thread_id, record.checkpoint_id, record.interrupt_key)] = ItemState(record=record)
    return states


def test_nobody_acted_yet_reads_as_waiting_even_before_the_ledger_exists(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    view = LedgerView(env.db_path)  # an observer: no hitl_ tables in this DB yet
    try:
        assert open_votes(view.connection) == {} and view.recent_records() == []
    finally:
        view.close()
    assert ItemState().label(2) == "waiting"


def test_votes_decisions_and_reasons_as_another_reader_sees_them(env: PolicyEnv) -> None:
    for tid in ("t-1", "t-2", "t-3"):
        env.start(tid, REQUEST)
    keys = {tid: key_of(env, tid) for tid in ("t-1", "t-2", "t-3")}
    decide(env, ALICE, Decision(DecisionKind.APPROVE), "t-1")  # 1 of 2
    decide(env, BOB, Decision(DecisionKind.REJECT, text="wrong recipient"), "t-2")  # final at once
    view = LedgerView(env.db_path)
    try:
        states = shared_states(view)
    finally:
        view.close()
    voted, rejected = states[keys["t-1"]], states[keys["t-2"]]
    assert keys["t-3"] not in states
    assert voted.voters == (Voter("alice@testhost", 2001),) and voted.record is None
    assert voted.label(2) == "approved 1/2" and voted.who() == "alice@testhost"
    assert rejected.record is not None and rejected.record.state in (DecisionState.FINISHED, DecisionState.DECIDED)
    assert rejected.reason == "wrong recipient" and rejected.decided_by() == "rejected by bob@testhost"
    assert rejected.label() in ("rejected by bob", "resumed")  # a status column: the user, not the host
    # The quorum closes the round: the votes are no longer "open", the decision says who approved.
    decide(env, BOB, Decision(DecisionKind.APPROVE), "t-1")
    ledger = DecisionLedger(env.db_path, env.config)
    try:
        done = shared_states(ledger)[keys["t-1"]]
        assert keys["t-1"] not in open_votes(ledger.connection)
    finally:
        ledger.close()
    assert done.record is not None and (done.record.approvals, done.record.approvals_needed) == (2, 2)
    assert done.label() == "resumed" and done.decided_by() == "approved by bob@testhost"
