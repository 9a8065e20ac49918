"""The decision ledger: compare-and-set decisions, resume claims and audit events in the shared DB.

Every write is one `BEGIN IMMEDIATE` transaction (a deferred read-then-write fails under contention).
A decision wins only if, at commit time, the checkpoint the operator saw is still the thread's latest, the
interrupt is still pending with the same payload hash, and nobody decided it first. Audit events are inserted in
the same transaction and copied to the JSON-lines log afterwards, in order, exactly once (`flush_audit`).

Durability. Decisions and claims commit with `synchronous=FULL` (fsync): nothing resumes on a decision that a power
cut could take back, and nothing runs without a durable claim. Progress marks that a restarted resumer can do
without (a resume's phase, its outcome, audit flush marks) commit with `synchronous=NORMAL`: in WAL mode that
survives any crash of the process and never corrupts the file, but an OS crash or power loss may roll the last
such commits back. The resumer therefore trusts phase marks only from claims made since the current boot (see
resumer.py), and `flush_audit` fsyncs the WAL before copying events out, so the audit log never holds an event
the DB could still lose.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hitl_tui.canonical import canonical_json, value_hash
from hitl_tui.checkpoints.reader import CheckpointReader, thread_version
from hitl_tui.config import Config
from hitl_tui.db import connect, explain_sqlite_error
from hitl_tui.decisions.decision import Decision, DecisionRecord, DecisionState
from hitl_tui.decisions.resume_values import InvalidDecision, ResumePlan, plan_resume
from hitl_tui.decisions.schema import SCHEMA, migrate, needs_migration
from hitl_tui.errors import DecisionRefused, HitlError
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread

Clock = Callable[[], datetime]
_COLUMNS = (
    "decision_id, batch_id, thread_id, checkpoint_id, interrupt_key, interrupt_id, graph_id, shape, node, action, "
    "payload_hash, decisions, plan, operator, operator_uid, actor_kind, decided_at, state, phase, claimed_by, "
    "claimed_at, finished_at, error, approvals, approvals_needed, reopened"
)
_PLACEHOLDERS = ", ".join("?" * len(_COLUMNS.split(",")))


@dataclass(frozen=True)
class LedgerRow:
    """A decision row with everything a resumer needs."""

    decision_id: str
    batch_id: str
    thread_id: str
    checkpoint_id: str
    interrupt_key: str
    interrupt_id: str | None
    graph_id: str | None
    shape: str
    node: str | None
    action: str | None
    payload_hash: str
    decisions: tuple[Decision, ...]
    plan: ResumePlan
    operator: str
    operator_uid: int | None
    actor_kind: str
    decided_at: datetime
    state: DecisionState
    phase: str | None
    claimed_by: str | None
    claimed_at: str | None
    finished_at: str | None
    error: str | None
    approvals: int
    approvals_needed: int
    reopened: bool = False  # failed with nothing saved by the agent: the interrupt takes a new decision

    def as_record(self) -> DecisionRecord:
        return DecisionRecord(
            decision_id=self.decision_id,
            thread_id=self.thread_id,
            checkpoint_id=self.checkpoint_id,
            interrupt_key=self.interrupt_key,
            graph_id=self.graph_id,
            decisions=self.decisions,
            operator=self.operator,
            operator_uid=self.operator_uid,
            decided_at=self.decided_at,
            state=self.state,
            error=self.error,
            approvals=self.approvals,
            approvals_needed=self.approvals_needed,
            reopened=self.reopened,
        )


@dataclass(frozen=True)
class Vote:
    """One operator's approval counted towards a four-eyes quorum."""

    operator: str
    operator_uid: int
    voted_at: str


@dataclass(frozen=True)
class Submission:
    """One thread's decisions for `submit_many`: what the operator saw and decided, and what policy asks."""

    thread: PendingThread
    items: tuple[tuple[PendingInterrupt, Sequence[Decision]], ...]
    approvals_needed: int = 1
    initiator_uid: int | None = None
    claimant: str | None = None  # claim the batch for this resumer in the same commit
    risk: str | None = None  # the policy's risk for what will run, for the audit record


def decisions_json(decisions: Sequence[Decision]) -> str:
    return canonical_json(
        [{"kind": d.kind.value, "action_index": d.action_index, "args": d.args, "text": d.text} for d in decisions]
    )


def _decisions_from(text: str) -> tuple[Decision, ...]:
    return tuple(
        Decision(DecisionKind(d["kind"]), d.get("action_index", 0), d.get("args"), d.get("text"))
        for d in json.loads(text)
    )


def _row(values: Sequence[Any]) -> LedgerRow:
    names = [c.strip() for c in _COLUMNS.split(",")]
    d = dict(zip(names, values, strict=True))
    plan = json.loads(d["plan"])
    d["plan"] = ResumePlan(**plan)
    d["decisions"] = _decisions_from(d["decisions"])
    d["decided_at"] = datetime.fromisoformat(d["decided_at"])
    d["state"] = DecisionState(d["state"])
    d["reopened"] = bool(d["reopened"])
    return LedgerRow(**d)


def _values(row: LedgerRow, decisions_text: str, plan_text: str) -> tuple[Any, ...]:
    """A row as stored, column by column (the inverse of `_row`), with its decisions and plan already in JSON."""
    return (
        row.decision_id, row.batch_id, row.thread_id, row.checkpoint_id, row.interrupt_key, row.interrupt_id,
        row.graph_id, row.shape, row.node, row.action, row.payload_hash, decisions_text, plan_text, row.operator,
        row.operator_uid, row.actor_kind, row.decided_at.isoformat(), row.state.value, row.phase, row.claimed_by,
        row.claimed_at, row.finished_at, row.error, row.approvals, row.approvals_needed, int(row.reopened),
    )


def args_hash(decisions: Sequence[Decision]) -> str:
    """What was approved: the edited arguments (or none) of every action in the submission."""
    return value_hash([[d.action_index, d.args if d.kind is DecisionKind.EDIT else None] for d in decisions])


class DecisionLedger:
    """Compare-and-set decisions and resume claims on the shared checkpoint DB."""

    def __init__(self, db_path: Path, config: Config, *, clock: Clock | None = None) -> None:
        self.db_path = db_path
        self.config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self._conn = connect(db_path, readonly=False)
        self._conn.execute("PRAGMA synchronous = FULL")  # a decision is durable before anything resumes
        self._conn.execute("PRAGMA busy_timeout = 30000")
        try:
            self._conn.executescript(SCHEMA)  # IF NOT EXISTS throughout: safe when several processes start at once
            if needs_migration(self._conn):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    migrate(self._conn)  # re-checks under the write lock: another process may have done it
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            # NORMAL is crash-consistent only in WAL mode; in a rollback journal every commit stays FULL.
            wal = self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        except sqlite3.Error as err:
            raise explain_sqlite_error(db_path, err) from None
        self._wal = wal
        # Relaxed commits go through a connection of their own (switching one connection's mode costs more).
        self._relaxed = self._conn
        if wal:
            self._relaxed = connect(db_path, readonly=False)
            self._relaxed.execute("PRAGMA synchronous = NORMAL")
            self._relaxed.execute("PRAGMA busy_timeout = 30000")
        self._reader = CheckpointReader(db_path, config)

    def close(self) -> None:
        self._reader.close()
        self._conn.close()
        if self._relaxed is not self._conn:
            self._relaxed.close()

    def now(self) -> datetime:
        return self._clock()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... COMMIT, rolled back on any error.

        `durable=False` commits without an fsync (synchronous=NORMAL, WAL only): for marks that may be lost in an
        OS crash or power cut, never in a crash of this process (see the module doc)."""
        conn = self._conn if durable else self._relaxed
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.db_path, err) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                conn.execute("ROLLBACK")
                raise explain_sqlite_error(self.db_path, err) from None

    def sync(self) -> None:
        """Make every commit so far durable, relaxed ones included: one small durable commit fsyncs the WAL, and
        with it every frame before it. (What a checkpoint already moved into the main file is durable: SQLite
        syncs it there before the WAL is reused.) Never os.open() the WAL for this: closing that descriptor
        would be one more way to drop this process's POSIX locks on the DB's files."""
        if not self._wal:
            return
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO hitl_sync (id, syncs) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET syncs = syncs + 1"
            )

    # -- deciding -----------------------------------------------------------------------------------------------

    def submit(
        self,
        thread: PendingThread,
        items: Sequence[tuple[PendingInterrupt, Sequence[Decision]]],
        operator: Operator,
        *,
        approvals_needed: int = 1,
        initiator_uid: int | None = None,
        event: str = "decision",
        extra: dict[str, Any] | None = None,
        claimant: str | None = None,
        risk: str | None = None,
    ) -> list[LedgerRow] | list[Vote]:
        """Record decisions on one or more interrupts of a thread in one compare-and-set transaction.

        Returns the decision rows (one batch, resumed together), or the votes so far when a four-eyes quorum
        is not reached yet. Raises InvalidDecision before touching the DB, and DecisionRefused (after logging
        the refusal) when the compare-and-set lost. With `claimant`, the batch is also claimed for that
        resumer in the same commit (state resuming, phase claimed) unless the thread is being resumed already.
        """
        submission = Submission(thread, tuple(items), approvals_needed, initiator_uid, claimant, risk)
        [outcome] = self.submit_many([submission], operator, event=event, extra=extra)
        if isinstance(outcome, DecisionRefused):
            raise outcome
        return outcome

    def submit_many(
        self, submissions: Sequence[Submission], operator: Operator, *, event: str = "decision",
        extra: dict[str, Any] | None = None,
    ) -> list[list[LedgerRow] | list[Vote] | DecisionRefused]:
        """Several submissions (threads) in ONE transaction: one fsync for all of them. Each is compared and set
        on its own, under a savepoint: a refused one (returned as its DecisionRefused, and logged) takes nothing
        else with it. InvalidDecision for any of them is raised before the DB is touched."""
        planned = [self._plan(s, operator) for s in submissions]
        now = self.now()
        outcomes: list[list[LedgerRow] | list[Vote] | DecisionRefused] = []
        with self.transaction() as conn:
            for submission, plans in zip(submissions, planned, strict=True):
                conn.execute("SAVEPOINT submission")
                try:
                    outcomes.append(self._submit_in(conn, submission, plans, operator, now, event, extra))
                except DecisionRefused as refusal:
                    conn.execute("ROLLBACK TO submission")
                    interrupt, decisions = submission.items[0]
                    self._event(conn, {
                        **self._base_event("refused", submission.thread, interrupt, decisions, operator, now,
                                           risk=submission.risk),
                        "error": refusal.message,
                    })
                    outcomes.append(refusal)
                conn.execute("RELEASE submission")
        return outcomes

    def _plan(self, submission: Submission, operator: Operator) -> list[tuple[str, PendingInterrupt,
                                                                                tuple[Decision, ...], ResumePlan]]:
        if not submission.items:
            raise InvalidDecision("No decision was given.")
        if submission.approvals_needed > 1 and len(submission.items) > 1:
            raise InvalidDecision("Items that need several approvers are decided one at a time.")
        graph = self.config.graph(submission.thread.graph_id)
        planned = []
        for interrupt, decisions in submission.items:
            decision_id = uuid.uuid4().hex
            plan = plan_resume(interrupt, decisions, graph=graph, decision_id=decision_id, operator=operator.display)
            planned.append((decision_id, interrupt, tuple(decisions), plan))
        return planned

    def _submit_in(
        self, conn: sqlite3.Connection, submission: Submission,
        planned: list[tuple[str, PendingInterrupt, tuple[Decision, ...], ResumePlan]], operator: Operator,
        now: datetime, event: str, extra: dict[str, Any] | None,
    ) -> list[LedgerRow] | list[Vote]:
        """One submission's compare-and-set, inside the caller's write transaction."""
        thread, approvals_needed, claimant = submission.thread, submission.approvals_needed, submission.claimant
        initiator_uid = submission.initiator_uid
        for _, interrupt, _, _ in planned:
            self._check_current(conn, thread, interrupt)
        approvals = 1
        if approvals_needed > 1:
            decision_id, interrupt, decisions, plan = planned[0]
            kinds = {d.kind for d in decisions}
            if kinds <= {DecisionKind.APPROVE, DecisionKind.EDIT}:
                if operator.is_human and initiator_uid is not None and operator.uid == initiator_uid:
                    raise DecisionRefused(
                        f"{operator.user} started this thread and may not approve it; another operator must."
                    )
                votes = self._vote(conn, thread, interrupt, decisions, operator, now)
                if len(votes) < approvals_needed:
                    self._event(conn, {
                        **self._base_event("approval", thread, interrupt, decisions, operator, now,
                                           risk=submission.risk),
                        "approvals": len(votes), "approvals_needed": approvals_needed, **(extra or {}),
                    })
                    return votes
                approvals = len(votes)
                # What the quorum approved is the round's edit, if the round started with one.
                decisions = self._round_decisions(conn, thread, interrupt) or decisions
                plan = plan_resume(
                    interrupt, decisions, graph=self.config.graph(thread.graph_id), decision_id=decision_id,
                    operator=operator.display,
                )
                planned = [(decision_id, interrupt, decisions, plan)]
        # Claiming here saves the resumer a transaction; claim_next's rule holds: one resume per thread.
        claim = (None, None, None) if claimant is None or conn.execute(
            "SELECT 1 FROM hitl_decisions WHERE thread_id = ? AND state = 'resuming' LIMIT 1",
            (thread.thread_id,),
        ).fetchone() else ("claimed", claimant, now.isoformat())
        state = DecisionState.DECIDED if claim[0] is None else DecisionState.RESUMING
        batch_id = uuid.uuid4().hex
        rows = []
        for decision_id, interrupt, decisions, plan in planned:
            decisions_text, plan_text = decisions_json(decisions), canonical_json(vars(plan))
            row = LedgerRow(  # as a worker would read it back: through the JSON of the stored columns
                decision_id, batch_id, thread.thread_id, thread.checkpoint_id, interrupt.key,
                interrupt.interrupt_id, thread.graph_id, interrupt.shape.value, interrupt.node,
                _action_names(interrupt, decisions), interrupt.payload_hash, _decisions_from(decisions_text),
                ResumePlan(**json.loads(plan_text)), operator.display, operator.uid, operator.kind, now,
                state, phase=claim[0], claimed_by=claim[1], claimed_at=claim[2], finished_at=None,
                error=None, approvals=approvals, approvals_needed=approvals_needed,
            )
            # attempt: how many earlier decisions on this interrupt were reopened (their resume failed unsaved).
            conn.execute(
                f"INSERT INTO hitl_decisions ({_COLUMNS}, attempt) VALUES ({_PLACEHOLDERS}, (SELECT COUNT(*) "
                "FROM hitl_decisions WHERE thread_id = ? AND checkpoint_id = ? AND interrupt_key = ?))",
                (*_values(row, decisions_text, plan_text), row.thread_id, row.checkpoint_id, row.interrupt_key),
            )
            rows.append(row)
            self._event(conn, {
                **self._base_event(event, thread, interrupt, decisions, operator, now, risk=submission.risk),
                "decision_id": decision_id, "approvals": approvals, "approvals_needed": approvals_needed,
                **(extra or {}),
            }, event_id=f"{decision_id}:decided")
        return rows

    def _check_current(self, conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt) -> None:
        """The compare part of compare-and-set; we hold the write lock, so what we read can't change under us."""
        prior = conn.execute(
            "SELECT operator, decided_at, decisions, state FROM hitl_decisions "
            "WHERE thread_id = ? AND checkpoint_id = ? AND interrupt_key = ? AND reopened = 0",
            (thread.thread_id, thread.checkpoint_id, interrupt.key),
        ).fetchone()
        if prior is not None:
            kinds = "+".join(sorted({d.kind.value for d in _decisions_from(prior[2])}))
            raise DecisionRefused(f"Already decided ({kinds}) by {prior[0]} at {_short_time(prior[1])}.")
        doubt = conn.execute(
            "SELECT d.decision_id, d.operator, d.decided_at FROM hitl_decisions AS d "
            "LEFT JOIN hitl_acks AS a ON a.decision_id = d.decision_id "
            "WHERE d.thread_id = ? AND d.state = 'in_doubt' AND a.decision_id IS NULL LIMIT 1",
            (thread.thread_id,),
        ).fetchone()
        if doubt is not None:
            # The agent may have acted on that earlier decision; deciding again could make it act twice.
            raise DecisionRefused(
                f"An earlier resume of this thread (decided by {doubt[1]} at {_short_time(doubt[2])}) is in doubt; "
                f"check its side effects, then run `hitl-tui ack {doubt[0]}`."
            )
        if self._unchanged_since_read(conn, thread, interrupt):
            return
        fresh = self._reader.thread(thread.thread_id)
        if fresh is None:
            raise DecisionRefused("The thread has finished or no longer exists; nothing was decided.")
        if fresh.checkpoint_id != thread.checkpoint_id:
            raise DecisionRefused(
                f"The thread moved on since you looked (checkpoint {thread.checkpoint_id[-8:]} is now "
                f"{fresh.checkpoint_id[-8:]}); look again before deciding."
            )
        current = next((i for i in fresh.interrupts if i.key == interrupt.key), None)
        if current is None:
            raise DecisionRefused("That interrupt is no longer pending; look again before deciding.")
        if current.payload_hash != interrupt.payload_hash:
            raise DecisionRefused("The pending action changed since you looked; look again before deciding.")

    @staticmethod
    def _unchanged_since_read(conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt) -> bool:
        """True when nothing about the thread was written since the operator's view was read and the interrupt is
        one of that view's: the view is then exactly what a fresh read would show (two index lookups instead)."""
        if thread.version is None or not any(
            i.key == interrupt.key and i.payload_hash == interrupt.payload_hash for i in thread.interrupts
        ):
            return False
        latest, version = thread_version(conn, thread.thread_id)
        return latest == thread.checkpoint_id and version == thread.version

    def _vote(
        self, conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt,
        decisions: Sequence[Decision], operator: Operator, now: datetime,
    ) -> list[Vote]:
        key = (thread.thread_id, thread.checkpoint_id, interrupt.key)
        if not operator.is_human:
            # Four eyes means people: a policy runs under some process's uid and must never stand in for one.
            raise DecisionRefused(f"{operator.user} can't approve an item that needs several operators' approval.")
        is_edit = any(d.kind is DecisionKind.EDIT for d in decisions)
        # Every vote names exactly what it approves (the edited arguments, or none for as-is), and a quorum
        # forms only over votes for the same thing: nobody's approval counts for arguments they didn't see.
        mine = args_hash(decisions)
        current = conn.execute(
            "SELECT args_hash, operator FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=? "
            "ORDER BY voted_at LIMIT 1", key,
        ).fetchone()
        voted = conn.execute(
            "SELECT 1 FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=? AND operator_uid=?",
            (*key, operator.uid),
        ).fetchone() is not None
        if current is not None and current[0] != mine and is_edit:
            # A different edit changes what is being approved: approvals given to other arguments no longer count.
            conn.execute("DELETE FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=?", key)
        elif voted:
            raise DecisionRefused(f"{operator.user} has already approved this; a different operator must approve it.")
        elif current is not None and current[0] != mine:
            raise DecisionRefused(
                f"{current[1]} edited the arguments after approvals began; review the edit and approve it by "
                "submitting the same edit, or edit again."
            )
        conn.execute(
            "INSERT INTO hitl_votes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*key, operator.uid, operator.display, interrupt.payload_hash, mine, decisions_json(decisions),
             now.isoformat()),
        )
        return self.votes(thread.thread_id, thread.checkpoint_id, interrupt.key, conn=conn)

    def _round_decisions(
        self, conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt
    ) -> tuple[Decision, ...] | None:
        """The edit that opened this approval round (an edit clears older votes), if there was one."""
        for (text,) in conn.execute(
            "SELECT decisions FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=?",
            (thread.thread_id, thread.checkpoint_id, interrupt.key),
        ):
            found = _decisions_from(text)
            if any(d.kind is DecisionKind.EDIT for d in found):
                return found
        return None

    def votes(
        self, thread_id: str, checkpoint_id: str, key: str, *, conn: sqlite3.Connection | None = None
    ) -> list[Vote]:
        """Approvals gathered so far for one pending interrupt."""
        rows = (conn or self._conn).execute(
            "SELECT operator, operator_uid, voted_at FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? "
            "AND interrupt_key=? ORDER BY voted_at", (thread_id, checkpoint_id, key),
        )
        return [Vote(*r) for r in rows]

    # -- events and the audit log -------------------------------------------------------------------------------

    def _base_event(
        self, event: str, thread: PendingThread, interrupt: PendingInterrupt, decisions: Sequence[Decision],
        operator: Operator, now: datetime, *, risk: str | None = None,
    ) -> dict[str, Any]:
        """What every decision event says. `risk` is the policy's risk for what will run (edits included), the
        agent's own claim is kept beside it; edited arguments are recorded themselves, so a reviewer of the log
        sees what ran, and hashed as before."""
        edited = [d.args for d in decisions if d.kind is DecisionKind.EDIT]
        texts = [d.text for d in decisions if d.text]
        return {
            "event": event,
            "at": now.isoformat(),
            "actor": operator.as_record(),
            "thread_id": thread.thread_id,
            "graph_id": thread.graph_id,
            "checkpoint_id": thread.checkpoint_id,
            "interrupt_id": interrupt.interrupt_id or interrupt.key,
            "action": _action_names(interrupt, decisions),
            "payload_hash": interrupt.payload_hash,
            "shape": interrupt.shape.value,
            "confidence": interrupt.confidence,
            "risk": risk if risk is not None else interrupt.risk,
            "agent_risk": interrupt.risk,
            "decision": "+".join(d.kind.value for d in sorted(decisions, key=lambda d: d.action_index)),
            "decisions": [{"action_index": d.action_index, "kind": d.kind.value} for d in decisions],
            "text": " | ".join(texts) if texts else None,
            "args_hash": value_hash(edited) if edited else None,
            "edited_args": [{"action_index": d.action_index, "args": d.args}
                            for d in decisions if d.kind is DecisionKind.EDIT] or None,
        }

    def _event(self, conn: sqlite3.Connection, record: dict[str, Any], *, event_id: str | None = None) -> None:
        conn.execute(
            "INSERT INTO hitl_events (event_id, record) VALUES (?, ?)",
            (event_id or uuid.uuid4().hex, canonical_json(record)),
        )

    def flush_audit(self, audit: Any) -> int:
        """Copy events not yet in the audit log into it, in commit order; returns how many were appended."""
        # One flusher at a time, reading the backlog only once it holds the lock: without it every process
        # re-appends (re-checks) every other process's events, and a list read before someone else's flush can
        # land an event a second time in a log rotated in between.
        path = getattr(audit, "path", None)
        with _flush_lock(Path(f"{path}.flush") if path is not None else None):
            rows = self._conn.execute(
                "SELECT seq, event_id, record FROM hitl_events WHERE flushed = 0 ORDER BY seq"
            ).fetchall()
            if rows:
                self.sync()  # an event from a relaxed commit must be durable in the DB before the log has it
            done = []
            try:
                if rows and hasattr(audit, "append_many"):  # the whole backlog under one lock, write and fsync
                    audit.append_many([(json.loads(record), event_id) for _, event_id, record in rows])
                    done = [seq for seq, _, _ in rows]
                for seq, event_id, record in rows[len(done):]:
                    audit.append(json.loads(record), event_id=event_id)  # idempotent per event id
                    done.append(seq)
            finally:
                if done:
                    self._mark_flushed(done)
        return len(done)

    def _mark_flushed(self, seqs: list[int]) -> None:
        """Note events as copied. Not fsynced: a lost mark only makes the next flush find them logged already
        (appends are idempotent per event id), and the next durable commit carries the mark to disk anyway."""
        with self.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE hitl_events SET flushed = 1 WHERE seq IN (SELECT value FROM json_each(?))",
                (json.dumps(seqs),),
            )

    # -- resuming -----------------------------------------------------------------------------------------------

    def claim_next(self, claimant: str, *, graph_ids: Iterable[str | None] | None = None,
                   decision_id: str | None = None) -> list[LedgerRow]:
        """Claim the oldest decided batch whose thread nobody is resuming; [] when there is none."""
        allowed = None if graph_ids is None else set(graph_ids)
        with self.transaction() as conn:
            query = f"SELECT {_COLUMNS} FROM hitl_decisions WHERE state = 'decided'"
            params: tuple[Any, ...] = ()
            if decision_id is not None:
                query += " AND batch_id = (SELECT batch_id FROM hitl_decisions WHERE decision_id = ?)"
                params = (decision_id,)
            busy = {r[0] for r in conn.execute("SELECT thread_id FROM hitl_decisions WHERE state = 'resuming'")}
            for values in conn.execute(query + " ORDER BY rowid", params).fetchall():
                row = _row(values)
                if row.thread_id in busy or (allowed is not None and row.graph_id not in allowed):
                    continue
                batch = [
                    _row(v) for v in conn.execute(
                        f"SELECT {_COLUMNS} FROM hitl_decisions WHERE batch_id = ? AND state = 'decided' "
                        "ORDER BY rowid",
                        (row.batch_id,),
                    )
                ]
                conn.execute(
                    "UPDATE hitl_decisions SET state = 'resuming', phase = 'claimed', claimed_by = ?, claimed_at = ? "
                    "WHERE batch_id = ? AND state = 'decided'",
                    (claimant, self.now().isoformat(), row.batch_id),
                )
                return batch
        return []

    def takeover(self, batch: Sequence[LedgerRow], *, dead: str | None, claimant: str) -> bool:
        """Take a dead resumer's claim over; False when someone else already did."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE hitl_decisions SET claimed_by = ?, claimed_at = ? WHERE batch_id = ? AND state = 'resuming' "
                "AND claimed_by IS ?",
                (claimant, self.now().isoformat(), batch[0].batch_id, dead),
            )
            return cur.rowcount > 0

    def set_phase(self, batch: Sequence[LedgerRow], phase: str) -> None:
        """Note how far a resume got, so a restarted resumer knows what may have run. Relaxed: a process crash
        never loses it; after an OS crash the resumer doesn't rely on phases (the claim itself is durable)."""
        with self.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE hitl_decisions SET phase = ? WHERE decision_id IN (SELECT value FROM json_each(?))",
                (phase, json.dumps([r.decision_id for r in batch])),
            )

    def release(self, batch: Sequence[LedgerRow]) -> None:
        """Give a claim back untouched (nothing ran), so the batch can be resumed again."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE hitl_decisions SET state = 'decided', phase = NULL, claimed_by = NULL, claimed_at = NULL "
                "WHERE decision_id IN (SELECT value FROM json_each(?)) AND state = 'resuming'",
                (json.dumps([r.decision_id for r in batch]),),
            )

    def finish(self, batch: Sequence[LedgerRow], state: DecisionState, *, error: str | None = None,
               note: str | None = None, actor: Operator | None = None, reopened: bool = False) -> list[LedgerRow]:
        """Record how a resume ended (and its audit event) for every decision in the batch. Relaxed, like phases:
        if an OS crash takes it back, a restarted resumer records what the thread shows, or in doubt.

        `reopened` (FAILED only): the agent saved nothing, so the interrupt takes a new decision; the approvals
        gathered for this one are cleared with it (a new round). Durable, as a decision is: it lets one happen."""
        now = self.now()
        with self.transaction(durable=reopened) as conn:
            for row in batch:
                conn.execute(
                    "UPDATE hitl_decisions SET state = ?, phase = NULL, finished_at = ?, error = ?, reopened = ? "
                    "WHERE decision_id = ?",
                    (state.value, now.isoformat(), error, int(reopened), row.decision_id),
                )
                if reopened:
                    conn.execute("DELETE FROM hitl_votes WHERE thread_id = ? AND checkpoint_id = ? AND "
                                 "interrupt_key = ?", (row.thread_id, row.checkpoint_id, row.interrupt_key))
                self._event(conn, {
                    "event": "outcome",
                    "at": now.isoformat(),
                    "actor": actor.as_record() if actor else None,
                    "thread_id": row.thread_id,
                    "graph_id": row.graph_id,
                    "checkpoint_id": row.checkpoint_id,
                    "interrupt_id": row.interrupt_id or row.interrupt_key,
                    "action": row.action,
                    "payload_hash": row.payload_hash,
                    "decision": "+".join(d.kind.value for d in row.decisions),
                    "decision_id": row.decision_id,
                    "decided_by": row.operator,
                    "outcome": state.value,
                    "error": error,
                    "text": note,
                    **({"reopened": True} if reopened else {}),
                }, event_id=f"{row.decision_id}:outcome")
        return [replace(r, state=state, phase=None, finished_at=now.isoformat(), error=error, reopened=reopened)
                for r in batch]

    def acknowledge(self, decision_id: str, operator: Operator, note: str | None = None) -> LedgerRow:
        """Record that a person checked an in-doubt resume, so its thread can be decided again."""
        now = self.now()
        with self.transaction() as conn:
            values = conn.execute(f"SELECT {_COLUMNS} FROM hitl_decisions WHERE decision_id = ?",
                                  (decision_id,)).fetchone()
            if values is None:
                raise HitlError(f"No decision has the id {decision_id!r}.")
            row = _row(values)
            if row.state is not DecisionState.IN_DOUBT:
                raise HitlError(f"Decision {decision_id} is {row.state.value}, not in doubt; nothing to acknowledge.")
            if conn.execute("SELECT 1 FROM hitl_acks WHERE decision_id = ?", (decision_id,)).fetchone():
                raise HitlError(f"Decision {decision_id} was already acknowledged.")
            conn.execute("INSERT INTO hitl_acks VALUES (?, ?, ?, ?)",
                         (decision_id, operator.display, now.isoformat(), note))
            self._event(conn, {
                "event": "acknowledged", "at": now.isoformat(), "actor": operator.as_record(),
                "thread_id": row.thread_id, "graph_id": row.graph_id, "checkpoint_id": row.checkpoint_id,
                "interrupt_id": row.interrupt_id or row.interrupt_key, "action": row.action,
                "decision_id": decision_id, "outcome": row.state.value, "text": note,
            }, event_id=f"{decision_id}:acknowledged")
        return row

    # -- reading ------------------------------------------------------------------------------------------------

    def get(self, decision_id: str) -> LedgerRow | None:
        values = self._conn.execute(
            f"SELECT {_COLUMNS} FROM hitl_decisions WHERE decision_id = ?", (decision_id,)
        ).fetchone()
        return _row(values) if values else None

    def batch(self, batch_id: str) -> list[LedgerRow]:
        return [_row(v) for v in self._conn.execute(
            f"SELECT {_COLUMNS} FROM hitl_decisions WHERE batch_id = ? ORDER BY rowid", (batch_id,))]

    def waiting_on(self, thread_id: str) -> list[tuple[str, str | None]]:
        """(decision id, graph) of the decisions on a thread that wait for a resumer, oldest first."""
        return self._conn.execute(
            "SELECT decision_id, graph_id FROM hitl_decisions WHERE thread_id = ? AND state = 'decided' ORDER BY rowid",
            (thread_id,),
        ).fetchall()

    def in_state(self, *states: DecisionState) -> list[LedgerRow]:
        marks = ", ".join("?" * len(states))
        return [_row(v) for v in self._conn.execute(
            f"SELECT {_COLUMNS} FROM hitl_decisions WHERE state IN ({marks}) ORDER BY rowid",
            tuple(s.value for s in states))]

    def for_threads(self, thread_ids: Iterable[str]) -> list[LedgerRow]:
        """Every decision on these threads, oldest first (the console shows the newest per interrupt)."""
        return [_row(v) for v in self._conn.execute(
            f"SELECT {_COLUMNS} FROM hitl_decisions WHERE thread_id IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            (json.dumps(sorted(set(thread_ids))),))]

    def recent(self, limit: int = 200) -> list[LedgerRow]:
        return [_row(v) for v in self._conn.execute(
            f"SELECT {_COLUMNS} FROM hitl_decisions ORDER BY rowid DESC LIMIT ?", (limit,))]

    def recent_records(self, limit: int = 200) -> list[DecisionRecord]:
        """The newest decisions as the console shows them: in-doubt ones say who acknowledged them."""
        return _with_acks(self._conn, [r.as_record() for r in self.recent(limit)])

    @property
    def connection(self) -> sqlite3.Connection:
        """For read-only helpers such as `decision_state.open_votes` (this thread's connection)."""
        return self._conn


def _with_acks(conn: sqlite3.Connection, records: list[DecisionRecord]) -> list[DecisionRecord]:
    doubtful = [r.decision_id for r in records if r.state is DecisionState.IN_DOUBT]
    if not doubtful:
        return records
    acked = dict(conn.execute(
        "SELECT decision_id, operator FROM hitl_acks WHERE decision_id IN (SELECT value FROM json_each(?))",
        (json.dumps(doubtful),),
    ).fetchall())
    return [replace(r, acknowledged_by=acked[r.decision_id]) if r.decision_id in acked else r for r in records]


@contextmanager
def _flush_lock(path: Path | None) -> Iterator[None]:
    """An exclusive flock on a sidecar of the audit log (not the log's own lock: append takes that one)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666) if path is not None else None
    except OSError:
        fd = None  # no folder yet or read-only: the append itself will say what is wrong
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the flock


def _action_names(interrupt: PendingInterrupt, decisions: Sequence[Decision]) -> str:
    names = [interrupt.actions[d.action_index].name for d in sorted(decisions, key=lambda d: d.action_index)
             if 0 <= d.action_index < len(interrupt.actions)]
    return ", ".join(names)


def _short_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return iso


class LedgerView:
    """Decision records read without writing (observer consoles): no tables are created, none may exist yet."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._conn = connect(db_path, readonly=True)

    def recent(self, limit: int = 200) -> list[LedgerRow]:
        # An older ledger (not migrated: this view never writes) has no `reopened` column: nothing was reopened.
        columns = _COLUMNS if not needs_migration(self._conn) else _COLUMNS.replace("reopened", "0 AS reopened")
        try:
            return [_row(v) for v in self._conn.execute(
                f"SELECT {columns} FROM hitl_decisions ORDER BY rowid DESC LIMIT ?", (limit,))]
        except sqlite3.OperationalError as err:
            if "no such table" in str(err):
                return []  # nobody has decided anything in this DB yet
            raise explain_sqlite_error(self.db_path, err) from None

    def recent_records(self, limit: int = 200) -> list[DecisionRecord]:
        records = [r.as_record() for r in self.recent(limit)]
        try:
            return _with_acks(self._conn, records)
        except sqlite3.OperationalError:  # an older ledger without hitl_acks: nothing was acknowledged
            return records

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def close(self) -> None:
        self._conn.close()
