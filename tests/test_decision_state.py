"""Each pending item's place in the shared ledger (waiting, votes n/m, decided by, resuming, failed), read by
`decision_states` and shown by `hitl-tui list` (DECISION column, and a `decision` object per interrupt in --json),
whichever process decided."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from demo_fixtures import clean_env
from test_policy_fixtures import PolicyEnv, no_config_env
from test_policy_four_eyes import ALICE, BOB, CAROL, REQUEST, env

from hitl_tui.cli.main import main
from hitl_tui.console.item_state import ItemState
from hitl_tui.decisions.decision import Decision, DecisionState
from hitl_tui.decisions.ledger import DecisionLedger
from hitl_tui.decisions.state import DecisionState as ItemDecision
from hitl_tui.decisions.state import Voter, decision_states, item_key
from hitl_tui.model import DecisionKind
from hitl_tui.policy.rules import assess

FIXTURES = (clean_env, no_config_env, env)  # pytest finds fixtures by module attribute; `env` has send_email
# needing two approvals (four eyes)


def decide(env: PolicyEnv, thread_id: str, *who: object, kind: DecisionKind = DecisionKind.APPROVE) -> None:
    """Each operator in turn decides, leaving the resume to a worker (as a console without agent code does)."""
    for operator in who:
        desk = env.desk(operator, resume=False)  # type: ignore[arg-type]
        try:
            thread = env.thread(thread_id)
            desk.decide(thread, thread.interrupts[0], [Decision(kind, 0, None, "no" if kind.value == "reject"
                                                                else None)])
        finally:
            desk.close()


def claim(env: PolicyEnv, thread_id: str) -> list[object]:
    ledger = DecisionLedger(env.db_path, env.config)
    try:
        [row] = [r for r in ledger.in_state(DecisionState.DECIDED) if r.thread_id == thread_id]
        return ledger.claim_next("worker-test", decision_id=row.decision_id)  # type: ignore[return-value]
    finally:
        ledger.close()


@pytest.fixture
def scene(env: PolicyEnv) -> PolicyEnv:
    """t-1 waiting, t-2 one vote of two, t-3 decided, t-4 resuming, t-5 failed, t-6 rejected."""
    for n in range(1, 7):
        env.start(f"t-{n}", REQUEST)
    decide(env, "t-2", ALICE)
    for tid in ("t-3", "t-4", "t-5"):
        decide(env, tid, ALICE, BOB)
    claim(env, "t-4")
    batch = claim(env, "t-5")
    ledger = DecisionLedger(env.db_path, env.config)
    try:
        ledger.finish(batch, DecisionState.FAILED, error="SMTP server said 554")  # type: ignore[arg-type]
    finally:
        ledger.close()
    decide(env, "t-6", CAROL, kind=DecisionKind.REJECT)
    return env


EXPECTED = {
    "t-1": ("waiting", "waiting"),
    "t-2": ("voting", "approved 1/2 (alice@testhost)"),
    "t-3": ("decided", "approved by bob@testhost"),
    "t-4": ("resuming", "resuming"),
    "t-5": ("failed", "failed: SMTP server said 554"),
    "t-6": ("decided", "rejected by carol@testhost"),
}


def test_decision_states_of_every_kind(scene: PolicyEnv) -> None:
    config = scene.config
    items = [(t, t.interrupts[0]) for t in (scene.thread(f"t-{n}") for n in range(1, 7))]
    states = decision_states(scene.db_path, items, votes_needed=lambda t, i: assess(config, t, i).approvals)
    got = {t.thread_id: states[item_key(t.thread_id, t.checkpoint_id, i.key)] for t, i in items}
    assert {tid: (s.status, s.label) for tid, s in got.items()} == EXPECTED
    assert (got["t-2"].votes, got["t-2"].votes_needed, got["t-2"].voters) == (1, 2, ("alice@testhost",))
    assert (got["t-3"].votes, got["t-3"].votes_needed, got["t-3"].voters) == (2, 2, ("alice@testhost", "bob@testhost"))
    assert got["t-5"].decision_id and got["t-5"].error == "SMTP server said 554"
    # The same from an open ledger, and nothing at all from a DB where nobody decided yet.
    ledger = DecisionLedger(scene.db_path, config)
    try:
        assert decision_states(ledger, items, votes_needed=lambda t, i: 2) == states
    finally:
        ledger.close()


def test_a_db_without_ledger_tables_is_all_waiting(env: PolicyEnv) -> None:
    env.start("t-1", REQUEST)
    thread = env.thread("t-1")
    [state] = decision_states(env.db_path, [(thread, thread.interrupts[0])]).values()
    assert state.label == "waiting" and state.as_json()["votes"] == 0


def test_list_shows_the_decision_column(scene: PolicyEnv, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--config", str(scene.config_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0]
    assert header.split()[-1] == "DECISION"
    column = header.index("DECISION")
    shown = {line.split()[0]: line[column:].strip() for line in lines[1:] if line.startswith("t-")}
    assert shown == {tid: label for tid, (_, label) in EXPECTED.items()}


@pytest.mark.parametrize("form", ["--json", "--jsonl"])
def test_list_json_from_another_process_carries_the_decision(scene: PolicyEnv, form: str) -> None:
    out = subprocess.run([sys.executable, "-m", "hitl_tui", "list", form, "--config", str(scene.config_path)],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    threads = [json.loads(line) for line in out.splitlines()] if form == "--jsonl" else json.loads(out)
    decisions = {t["thread_id"]: t["interrupts"][0]["decision"] for t in threads}
    assert {tid: d["status"] for tid, d in decisions.items()} == {tid: s for tid, (s, _) in EXPECTED.items()}
    assert decisions["t-2"]["votes"] == 1 and decisions["t-2"]["votes_needed"] == 2
    assert decisions["t-2"]["voters"] == ["alice@testhost"]
    assert decisions["t-5"]["error"] == "SMTP server said 554" and decisions["t-3"]["decided_by"] == "bob@testhost"


def test_the_console_and_the_cli_word_shared_state_alike() -> None:
    """One definition of the words: a partial four-eyes approval reads "approved 1/2" in `list` and in a console."""
    console = ItemState(voters=(Voter("alice@testhost", 1000),)).label(2)
    cli = ItemDecision("voting", decision="approve", votes=1, votes_needed=2, voters=("alice@testhost",)).label
    assert console == "approved 1/2"
    assert cli == "approved 1/2 (alice@testhost)"
