"""A person and the timeout sweeper race, in two real processes, over the same paused threads in a real DB.

Every item must end decided exactly once -- approved by the person or rejected by the timeout, never both,
never approved by the timeout -- the agent's side effect must run once per approval and never for a timed-out
item, and the audit log must say the same.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from demo_fixtures import clean_env
from test_policy_fixtures import make_env, no_config_env

from hitl_tui.audit import iter_records, verify

FIXTURES = (clean_env, no_config_env)
DEADLINE = 60


def _wait_for(path: Path, timeout: float = 60.0, procs: Sequence[Any] = ()) -> None:
    """Poll for a file (bounded); give up at once when a process that should write it has died."""
    limit = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > limit:
            raise TimeoutError(f"{path} never appeared")
        if any(p.exitcode is not None for p in procs):
            raise AssertionError(f"a racer died before {path.name} appeared: {[p.exitcode for p in procs]}")
        time.sleep(0.005)


def _person(directory: str, order: str) -> None:
    """Approve every thread this person saw, in `order`, on the view taken before the race started."""
    import random

    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.config import load_config
    from hitl_tui.decisions.decision import Decision
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.errors import DecisionRefused
    from hitl_tui.identity import Operator
    from hitl_tui.model import DecisionKind, ThreadStatus
    from hitl_tui.policy.requirements import requirements_for

    base = Path(directory)
    config = load_config(base / "config.toml")
    db = base / "checkpoints.db"
    reader = CheckpointReader(db, config)
    threads = [t for t in reader.read_all().threads if t.status is ThreadStatus.PAUSED]
    reader.close()
    if order == "reverse":
        threads.reverse()
    elif order == "shuffled":
        random.Random(7).shuffle(threads)
    desk = DecisionDesk(config, db, Operator(uid=2001, user="alice", host="testhost"),
                        requirements=requirements_for(config))
    (base / "person.ready").touch()
    _wait_for(base / "go")
    won, lost = [], []
    for thread in threads:
        try:
            desk.decide(thread, thread.interrupts[0], [Decision(DecisionKind.APPROVE)])
            won.append(thread.thread_id)
        except DecisionRefused:
            lost.append(thread.thread_id)
    desk.close()
    (base / "person.json").write_text(json.dumps({"won": won, "lost": lost}))


def _sweeper(directory: str) -> None:
    """The worker's timeout pass, an hour in the future (every item overdue), until nothing is overdue."""
    from hitl_tui.config import load_config
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.identity import Operator
    from hitl_tui.policy.timeouts import TimeoutSweeper

    base = Path(directory)
    config = load_config(base / "config.toml")
    db = base / "checkpoints.db"

    def clock() -> datetime:
        return datetime.now(UTC) + timedelta(hours=1)

    desk = DecisionDesk(config, db, Operator(uid=4000, user="worker", host="testhost"), clock=clock)
    sweeper = TimeoutSweeper(config, db, desk, clock=clock)
    assert sweeper.overdue()  # primes the reader before the race, as a running worker would have
    (base / "sweeper.ready").touch()
    _wait_for(base / "go")
    timed_out, passes = 0, 0
    limit = time.monotonic() + 120
    while sweeper.overdue() and time.monotonic() < limit:
        timed_out += sweeper.sweep()
        passes += 1
    sweeper.close()
    desk.close()
    (base / "sweeper.json").write_text(json.dumps({"timed_out": timed_out, "passes": passes}))


def race(tmp_path: Path, n: int, order: str) -> dict:
    env = make_env(tmp_path, f"[policy]\ndefault_deadline_seconds = {DEADLINE}\n")
    try:
        for i in range(n):
            env.start(f"r-{i:03d}", f"Send an email to user{i}@example.com saying batch {i} is ready")
    finally:
        env.close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_person, args=(str(tmp_path), order)),
             ctx.Process(target=_sweeper, args=(str(tmp_path),))]
    for p in procs:
        p.start()
    try:
        _wait_for(tmp_path / "person.ready", procs=procs)
        _wait_for(tmp_path / "sweeper.ready", procs=procs)
        (tmp_path / "go").touch()
        for p in procs:
            p.join(timeout=180)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0, 0]
    person = json.loads((tmp_path / "person.json").read_text())
    sweeper = json.loads((tmp_path / "sweeper.json").read_text())
    return {"env": env, "person": person, "sweeper": sweeper}


def check_exactly_once(result: dict, n: int) -> None:
    env, person, sweeper = result["env"], result["person"], result["sweeper"]
    rows = env.decisions()
    per_thread = Counter(r["thread_id"] for r in rows)
    assert len(per_thread) == n and set(per_thread.values()) == {1}, "each item decided exactly once"
    human = {r["thread_id"] for r in rows if r["actor_kind"] == "human"}
    policy = {r["thread_id"] for r in rows if r["actor_kind"] == "policy"}
    assert human == set(person["won"]) and len(policy) == sweeper["timed_out"]
    assert set(person["lost"]) == policy
    for r in rows:
        kinds = {d["kind"] for d in json.loads(r["decisions"])}
        assert kinds == ({"approve"} if r["actor_kind"] == "human" else {"reject"}), r
        assert r["state"] == "finished", r
    sent = Counter(line["thread_id"] for line in env.outbox())
    assert set(sent) == human and set(sent.values()) == {1}, "one email per approval, none for a timeout"
    log = list(iter_records(env.audit_path))
    assert verify(env.audit_path).ok
    decided = Counter((r["event"], r["thread_id"]) for r in log if r["event"] in ("decision", "timeout"))
    assert {tid for (event, tid) in decided if event == "timeout"} == policy
    assert {tid for (event, tid) in decided if event == "decision"} == human
    assert set(decided.values()) == {1}
    assert not any(r["event"] == "timeout" and "approve" in (r["decision"] or "") for r in log)


def test_person_and_timeout_meet_in_the_middle(tmp_path: Path) -> None:
    n = 120
    result = race(tmp_path, n, "reverse")
    check_exactly_once(result, n)
    # Both sides won some: the race really happened (they start at opposite ends).
    assert result["person"]["won"] and result["sweeper"]["timed_out"]


@pytest.mark.parametrize("order", ["same", "shuffled"])
def test_person_and_timeout_collide_on_every_item(tmp_path: Path, order: str) -> None:
    n = 60
    result = race(tmp_path, n, order)
    check_exactly_once(result, n)
