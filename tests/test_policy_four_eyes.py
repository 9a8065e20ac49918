"""Four eyes through the desk on a real DB: distinct OS users, self-approval refused, edit resets, reject final."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_fixtures import clean_env
from test_policy_fixtures import PolicyEnv, make_env, no_config_env, person

from hitl_tui.audit import iter_records
from hitl_tui.decisions.decision import Decision, DecisionState
from hitl_tui.decisions.desk import DeskResult
from hitl_tui.errors import DecisionRefused
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingThread
from hitl_tui.policy.requirements import initiator_name, local_uid, requirements_for

FIXTURES = (clean_env, no_config_env)
D = DecisionKind
RULES = """
[[policy.rule]]
action = "send_email"
approvals = 2
"""
REQUEST = "Send an email to dana@example.com saying the Q3 report is ready for review"
ALICE, BOB, CAROL = person(2001, "alice"), person(2002, "bob"), person(2003, "carol")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[PolicyEnv]:
    e = make_env(tmp_path, RULES)
    yield e
    e.close()


def decide(env: PolicyEnv, who: Operator, decision: Decision, thread_id: str = "t-1", *,
           seen: PendingThread | None = None) -> DeskResult:
    """Decide as `who` would from the console, on the view `seen` (default: a fresh look at the thread)."""
    desk = env.desk(who)
    try:
        thread = seen or env.thread(thread_id)
        return desk.decide(thread, thread.interrupts[0], [decision])
    finally:
        desk.close()


def approve() -> Decision:
    return Decision(D.APPROVE)


def edit(**args: str) -> Decision:
    return Decision(D.EDIT, 0, {"to": "dana@example.com", "subject": "Q3", "body": "Ready.", **args})


def events(env: PolicyEnv) -> list[tuple[str, str | None, str | None]]:
    return [(r["event"], r["actor"]["user"], r["decision"]) for r in iter_records(env.audit_path)
            if r["event"] in ("approval", "decision", "refused")]


def test_two_distinct_operators_are_needed_and_the_same_one_twice_is_refused(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    first = decide(env, ALICE, approve())
    assert first.awaiting_approvals and (len(first.votes), first.approvals_needed) == (1, 2)
    assert env.decisions() == [] and env.outbox() == []
    with pytest.raises(DecisionRefused, match="already approved"):
        decide(env, ALICE, approve())
    # Same name, different uid is a different person; same uid under another name is the same person.
    with pytest.raises(DecisionRefused, match="already approved"):
        decide(env, Operator(uid=ALICE.uid, user="alice-again", host="elsewhere"), approve())
    done = decide(env, BOB, approve())
    assert not done.awaiting_approvals
    [record] = done.records
    assert (record.approvals, record.approvals_needed, record.state) == (2, 2, DecisionState.FINISHED)
    assert [line["thread_id"] for line in env.outbox()] == ["t-1"]
    assert events(env) == [("approval", "alice", "approve"), ("refused", "alice", "approve"),
                           ("refused", "alice-again", "approve"), ("decision", "bob", "approve")]


def test_one_approver_is_enough_where_no_rule_asks_for_more(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    try:
        env.start("t-1", REQUEST)
        result = decide(env, ALICE, approve())
        assert result.records[0].state is DecisionState.FINISHED and len(env.outbox()) == 1
    finally:
        env.close()


def test_the_initiator_may_not_approve_but_may_reject(env: PolicyEnv) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    env.start("t-1", REQUEST, user_id=me)
    env.start("t-2", REQUEST, user_id=me)
    thread = env.thread("t-1")
    assert initiator_name(thread, thread.interrupts[0]) == me
    assert requirements_for(env.config)(thread, thread.interrupts[0]).initiator_uid == os.getuid()
    initiator = person(os.getuid(), me)
    with pytest.raises(DecisionRefused, match="started this thread and may not approve it"):
        decide(env, initiator, approve())
    with pytest.raises(DecisionRefused, match="started this thread"):
        decide(env, initiator, edit(subject="mine"))
    assert decide(env, ALICE, approve()).awaiting_approvals
    assert decide(env, BOB, approve()).records[0].state is DecisionState.FINISHED
    rejected = decide(env, initiator, Decision(D.REJECT, 0, None, "changed my mind"), thread_id="t-2")
    assert rejected.records[0].decisions[0].kind is D.REJECT
    assert [line["thread_id"] for line in env.outbox()] == ["t-1"]


def test_an_initiator_who_is_not_a_local_user_excludes_nobody(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST, user_id="no-such-user-here")
    thread = env.thread("t-1")
    assert requirements_for(env.config)(thread, thread.interrupts[0]).initiator_uid is None
    assert local_uid("no-such-user-here") is None and local_uid("uid:4242") == 4242 and local_uid("") is None
    assert local_uid(pwd.getpwuid(os.getuid()).pw_name) == os.getuid()


def test_an_edit_resets_the_approvals_and_the_quorum_approves_the_edit(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    assert len(decide(env, ALICE, approve()).votes) == 1
    after_edit = decide(env, BOB, edit(subject="Q3 numbers"))
    assert [v.operator_uid for v in after_edit.votes] == [BOB.uid]  # alice's approval of the old args is gone
    # A plain approve would count for arguments alice never saw: refused until she approves the edit itself.
    with pytest.raises(DecisionRefused, match="edited the arguments"):
        decide(env, ALICE, approve())
    # A different edit starts yet another round.
    again = decide(env, CAROL, edit(subject="Q3 final"))
    assert [v.operator_uid for v in again.votes] == [CAROL.uid]
    with pytest.raises(DecisionRefused, match="already approved"):
        decide(env, CAROL, edit(subject="Q3 final"))
    done = decide(env, ALICE, edit(subject="Q3 final"))  # the same edit: alice agrees with carol
    [record] = done.records
    assert (record.approvals, record.state, record.decisions[0].kind) == (2, DecisionState.FINISHED, D.EDIT)
    [line] = env.outbox()
    assert line["args"]["subject"] == "Q3 final"


def test_any_reject_is_final(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    seen = env.thread("t-1")  # all three look at the same pause
    assert decide(env, ALICE, approve(), seen=seen).awaiting_approvals
    rejected = decide(env, BOB, Decision(D.REJECT, 0, None, "wrong recipient"), seen=seen)
    assert rejected.records[0].decisions[0].kind is D.REJECT
    with pytest.raises(DecisionRefused, match=r"Already decided \(reject\) by bob"):
        decide(env, CAROL, approve(), seen=seen)
    assert env.outbox() == []
    [row] = env.decisions()
    assert (row["operator"], row["approvals"]) == ("bob@testhost", 1)


def test_feedback_is_final_too(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    seen = env.thread("t-1")
    decide(env, ALICE, approve(), seen=seen)
    decide(env, BOB, Decision(D.FEEDBACK, 0, None, "mention the appendix"), seen=seen)
    with pytest.raises(DecisionRefused, match="Already decided"):
        decide(env, CAROL, approve(), seen=seen)
    assert env.outbox() == []


def test_a_policy_never_counts_towards_a_quorum(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    decide(env, ALICE, approve())
    desk = env.desk(ALICE)
    try:
        thread = env.thread("t-1")
        robot = Operator.policy("auto_rule")
        with pytest.raises(DecisionRefused, match="several operators"):
            desk.decide_many(thread, [(thread.interrupts[0], [approve()])], actor=robot)
    finally:
        desk.close()
    assert env.decisions() == [] and env.outbox() == []


EDIT_RULES = """
[[policy.rule]]
action = "send_email"
when = { body = { contains = "wire" } }
risk = "high"
approvals = 2
"""


def test_rules_judge_the_edited_arguments_and_the_audit_says_what_will_run(tmp_path: Path) -> None:
    """An edit that makes an action match a two-approver rule needs two approvers, though the agent's own ask
    didn't match it; the audit record carries the policy's risk and the edited arguments themselves."""
    env = make_env(tmp_path, EDIT_RULES)
    try:
        env.start("t-1", REQUEST)
        assert decide(env, ALICE, approve()).records  # as asked: no rule matches, one operator suffices
        env.start("t-2", REQUEST)
        wire = edit(body="Please wire 50000 to the new account.")
        first = decide(env, ALICE, wire, "t-2")
        assert first.awaiting_approvals and first.approvals_needed == 2
        assert len(env.outbox()) == 1  # only t-1's email went out
        second = decide(env, BOB, wire, "t-2")
        assert second.records and second.records[0].state is DecisionState.FINISHED
        records = [r for r in iter_records(env.audit_path) if r["event"] in ("approval", "decision")]
        plain, vote, final = records
        assert (plain["risk"], plain["edited_args"]) == ("low", None)  # the policy's rating, not the agent's
        for record in (vote, final):
            assert record["risk"] == "high"
            assert record["edited_args"] == [{"action_index": 0, "args": wire.args}]
    finally:
        env.close()
