"""The resumer: claims recorded decisions and resumes their threads, exactly once, recording how it ended.

Used in-process by the console (when it can load the graph) and by `hitl-tui worker` (for operators whose
console must not hold the agent's code or secrets). Both run this same code.

Crash safety. A claim moves through durable phases: `claimed` (nothing has run), `updated` (a static
breakpoint's state update is stored, no node has run), `invoking` (graph code may be running). A resumer that
finds a claim whose owner died looks at the phase and at the thread: it completes what provably never started,
records what visibly finished, and marks the rest `in_doubt` for a person. It never re-runs blindly.

The claim is committed with an fsync; the phase marks and the outcome are not (one fsync per decision instead
of three; see ledger.py). They survive any crash of the resumer process, which is what phases are for. An OS
crash or power cut may take them back, so a claim made before the current boot is settled without trusting its
phase: what the thread visibly shows is recorded, everything else is in doubt.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

from hitl_tui.config import Config
from hitl_tui.db_target import DbTarget
from hitl_tui.decisions.backend import Ledger, open_thread_reader
from hitl_tui.decisions.claimants import (  # noqa: F401  (re-exported: tests and tools import them here)
    boot_id,
    claimant_alive,
    claimant_id,
    claimed_before_this_boot,
    host_id,
)
from hitl_tui.decisions.decision import DecisionState
from hitl_tui.decisions.graph_loader import GraphRegistry
from hitl_tui.decisions.ledger import LedgerRow
from hitl_tui.errors import GraphLoadError
from hitl_tui.identity import Operator
from hitl_tui.model import PendingThread, ThreadStatus

# Test-only crash points: HITL_TUI_CRASH_AT=after_claim|after_update|after_invoke kills this process with
# SIGKILL at that point, so tests can prove what a restarted resumer does. Unset in normal use.
CRASH_ENV = "HITL_TUI_CRASH_AT"


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


# Checkpoint metadata keys that LangGraph (or hitl-tui) writes itself, never copied from a run's configurable.
_OWN_METADATA = frozenset({"source", "step", "parents", "writes", "graph_id", "run_id", "thread_id", "checkpoint_id",
                           "checkpoint_ns", "hitl_decision_id", "hitl_outbox"})


def carried_context(metadata: dict[str, Any]) -> dict[str, Any]:
    """What a resume passes on of the paused run's configurable: the plain values LangGraph copied into its
    checkpoint metadata (user_id and the like), not LangGraph's own bookkeeping or a previous resume's keys."""
    return {
        key: value for key, value in metadata.items()
        if key not in _OWN_METADATA and not key.startswith(("__", "checkpoint_"))
        and isinstance(value, str | int | float | bool)
    }


def _run_key(batch: Sequence[LedgerRow]) -> str:
    """The id a resume passes to the graph (configurable.hitl_decision_id); it lands in checkpoint metadata."""
    return batch[0].decision_id if len(batch) == 1 else batch[0].batch_id


class Resumer:
    """Claims decided batches and resumes them through the graph named in config.toml."""

    def __init__(
        self,
        ledger: Ledger,
        config: Config,
        db_path: DbTarget,
        *,
        actor: Operator,
        on_event: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.db_path = db_path
        self.actor = actor
        self.graphs = GraphRegistry(config, db_path)
        self._reader = open_thread_reader(db_path, config)
        self._claimant = claimant_id()
        self._on_event = on_event or (lambda: None)
        self.load_errors: list[str] = []  # graphs that failed to load in run()/recover(); the caller clears it

    def close(self) -> None:
        self._reader.close()
        self.graphs.close()

    @property
    def claimant(self) -> str:
        """Who this resumer is in the ledger's claims (host, pid, pid start time)."""
        return self._claimant

    def loadable_graphs(self) -> list[str]:
        return [name for name in self.config.graphs if self.graphs.can_load(name)]

    def run(
        self, *, decision_id: str | None = None, limit: int | None = None
    ) -> list[tuple[list[LedgerRow], DecisionState]]:
        """Resume decided batches (only `decision_id`'s batch when given) until none is left or `limit` is hit.

        A graph that fails to load raises GraphLoadError for `decision_id`'s batch; otherwise its batches are
        left decided, the message is added to `load_errors`, and the other graphs' batches are still resumed.
        """
        done: list[tuple[list[LedgerRow], DecisionState]] = []
        broken: dict[str | None, str] = {}
        while limit is None or len(done) < limit:
            graphs = [g for g in self.loadable_graphs() if g not in broken]
            batch = self.ledger.claim_next(self._claimant, graph_ids=graphs, decision_id=decision_id)
            if not batch:
                break
            try:
                done.append((batch, self.resume(batch)[0].state))
            except GraphLoadError as err:  # released untouched by resume(); don't let it block the queue
                if decision_id is not None:
                    raise
                broken[batch[0].graph_id] = err.message
            if decision_id is not None:
                break
        self.load_errors.extend(m for m in broken.values() if m not in self.load_errors)
        return done

    def resume(
        self, batch: Sequence[LedgerRow], *, update_done: bool = False, note: str | None = None,
        checked: bool = False, metadata: dict[str, Any] | None = None,
    ) -> list[LedgerRow]:
        """Resume one claimed batch and record the outcome (with `note`, e.g. why a recovering resumer did it);
        returns the batch's rows as finished.

        `checked`: the batch was claimed in the very commit that compared it with the thread (the desk's
        compare-and-set), so reading the thread again here would only repeat that check; `metadata` is then that
        thread's checkpoint metadata, as compared (the run context a resume carries on)."""
        _crash_point("after_claim")
        first = batch[0]
        try:
            graph = self.graphs.get(first.graph_id)
        except GraphLoadError as err:
            self.ledger.release(batch)  # nothing ran; another resumer (or a fixed config) can take it
            raise err
        thread = None if checked else self._reader.thread(first.thread_id)
        if update_done and not self._at_own_update(batch, thread):
            # invoke(None) on whatever the thread is at now would approve it: someone else moved it on.
            return self.ledger.finish(batch, DecisionState.IN_DOUBT, actor=self.actor, note=note,
                                      error="the thread moved on after its state update was stored, before "
                                      "hitl-tui invoked it; nothing more was run here; check the agent's side effects")
        if not update_done and not checked:
            if thread is None or thread.checkpoint_id != first.checkpoint_id:
                return self.ledger.finish(batch, DecisionState.FAILED, actor=self.actor, note=note,
                                          error="the thread moved on before it could be resumed; nothing was run")
            pending = {i.key: i.payload_hash for i in thread.interrupts}
            missing = [r.interrupt_key for r in batch if pending.get(r.interrupt_key) != r.payload_hash]
            if missing:
                return self.ledger.finish(batch, DecisionState.FAILED, actor=self.actor, note=note,
                                          error="the interrupt is no longer pending as decided; nothing was run")
        cfg = self._run_config(batch, metadata)
        from langgraph.types import Command

        before = self._reader.marks(first.thread_id)
        try:
            if first.plan.interrupt_id is None:  # static breakpoint: update_state, then invoke(None)
                if not update_done:
                    if first.plan.update:
                        graph.update_state(cfg, first.plan.update, as_node=first.plan.as_node)
                    self.ledger.set_phase(batch, "updated")
                    _crash_point("after_update")
                self.ledger.set_phase(batch, "invoking")
                graph.invoke(None, cfg, durability="sync")
            else:
                self.ledger.set_phase(batch, "invoking")
                resume = {r.plan.interrupt_id: r.plan.resume for r in batch}
                graph.invoke(Command(resume=resume), cfg, durability="sync")
            _crash_point("after_invoke")
        except Exception as err:  # the agent's own error: recorded, shown, never retried
            error = f"{type(err).__name__}: {err}"[:2000]
            # Nothing saved (same checkpoint, no write but the error record): the agent is exactly where the
            # operator saw it, so the interrupt is reopened for a new decision instead of being stranded.
            reopened = not update_done and not self._reader.saved_since(first.thread_id, before)
            if reopened:
                error += " (the agent saved nothing; the interrupt can be decided again)"
            finished = self.ledger.finish(batch, DecisionState.FAILED, actor=self.actor, note=note,
                                          error=error, reopened=reopened)
            self._on_event()
            return finished
        state = self._settled_state(first.thread_id) or DecisionState.IN_DOUBT
        finished = self.ledger.finish(batch, state, actor=self.actor, note=note)
        self._on_event()
        return finished

    def _run_config(self, batch: Sequence[LedgerRow], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        if metadata is None:
            metadata = self._reader.run_metadata(batch[0].thread_id)
        configurable: dict[str, Any] = {
            # The paused run's own context (its user_id, say) as LangGraph recorded it in checkpoint metadata:
            # without it a node that runs again asks anew as nobody, and a four-eyes rule loses the initiator.
            **carried_context(metadata),
            "thread_id": batch[0].thread_id,
            # An idempotency key for the agent's side effect (one per resume).
            "hitl_decision_id": _run_key(batch),
        }
        if self.config.outbox is not None:
            configurable["hitl_outbox"] = str(self.config.outbox)
        # The run's metadata goes on too, the graph id above all: an app that names its graph only in the run's
        # metadata (not compiled into the graph) would otherwise pause again as a thread nobody can resume.
        run_metadata = {**carried_context(metadata)}
        if batch[0].graph_id is not None:
            run_metadata["graph_id"] = batch[0].graph_id
        return {"configurable": configurable, "metadata": run_metadata}

    def _at_own_update(self, batch: Sequence[LedgerRow], thread: PendingThread | None) -> bool:
        """True when the thread's latest checkpoint is the state update this batch stored (and nothing after it)."""
        if thread is None:
            return False
        if not batch[0].plan.update:  # nothing was stored: the thread must still be where the operator saw it
            return thread.checkpoint_id == batch[0].checkpoint_id
        return thread.metadata.get("source") == "update" and thread.metadata.get("hitl_decision_id") == _run_key(batch)

    def _settled_state(self, thread_id: str) -> DecisionState | None:
        """PAUSED_AGAIN or FINISHED when the thread is at rest; None while it is mid-run or stalled."""
        thread = self._reader.thread(thread_id)
        if thread is None:
            return DecisionState.FINISHED
        if thread.status is ThreadStatus.PAUSED:
            return DecisionState.PAUSED_AGAIN
        return None

    # -- recovery -------------------------------------------------------------------------------------------------

    def recover(self) -> list[tuple[list[LedgerRow], DecisionState]]:
        """Settle claims whose resumer died (on this host, or on any host once its lease ran out): complete,
        record, or mark in doubt."""
        settled = []
        by_batch: dict[str, list[LedgerRow]] = {}
        lapsed = self.ledger.lapsed_claims()
        for row in self.ledger.in_state(DecisionState.RESUMING):
            if claimant_alive(row.claimed_by) is False or row.batch_id in lapsed:
                by_batch.setdefault(row.batch_id, []).append(row)
        for batch in by_batch.values():
            try:
                state = self._recover_batch(batch)
            except GraphLoadError as err:  # released untouched (nothing ran): a later run() takes it
                if err.message not in self.load_errors:
                    self.load_errors.append(err.message)
                continue
            if state is not None:
                settled.append((batch, state))
        return settled

    def _recover_batch(self, batch: list[LedgerRow]) -> DecisionState | None:
        first = batch[0]
        if not self.ledger.takeover(batch, dead=first.claimed_by, claimant=self._claimant):
            return None  # another resumer is settling it
        thread = self._reader.thread(first.thread_id)
        moved_on = thread is None or thread.checkpoint_id != first.checkpoint_id
        note = f"recovered after resumer {first.claimed_by} died in phase {first.phase}"
        phase = first.phase
        if claimed_before_this_boot(first.claimed_by):
            # The host went down since the claim: a later phase mark may be lost, so assume the worst one.
            note = f"recovered after resumer {first.claimed_by} was lost with its host (noted phase {first.phase})"
            phase = "invoking"
        if phase == "claimed":
            if not moved_on:
                return self.resume(batch, note=note)[0].state  # provably nothing ran: resume it now
            if first.plan.update and self._at_own_update(batch, thread):  # died after update_state, before noting it
                return self.resume(batch, update_done=True, note=note)[0].state
        elif phase == "updated":
            return self.resume(batch, update_done=True, note=note)[0].state
        elif moved_on and not (first.plan.interrupt_id is None and self._at_own_update(batch, thread)):
            # Graph code ran. If the thread is at rest again, the run completed: record that. (A static
            # breakpoint still LOOKS paused at our own state update, since LangGraph writes no checkpoint until
            # a node finishes: invoke(None) may have run the node's effect there, so that case stays in doubt.)
            state = self._settled_state(first.thread_id)
            if state is not None:
                self.ledger.finish(batch, state, actor=self.actor, note=note)
                return state
        self.ledger.finish(batch, DecisionState.IN_DOUBT, actor=self.actor, note=note,
                           error="the resumer died while the agent may have been running; check its side effects")
        return DecisionState.IN_DOUBT
