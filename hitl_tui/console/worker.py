"""`hitl-tui worker`: one pass = settle dead claims, resume decided threads, apply timeouts, flush the audit log.

The console's in-process resumer is this same code (`Resumer`), so both behave alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hitl_tui.audit import AuditLogError
from hitl_tui.clock import Clock
from hitl_tui.config import Config
from hitl_tui.db_target import DbTarget
from hitl_tui.decisions.decision import DecisionState
from hitl_tui.decisions.desk import DecisionDesk
from hitl_tui.errors import ClaimLost, GraphLoadError
from hitl_tui.identity import Operator, current_operator


@dataclass
class WorkerReport:
    recovered: dict[str, int] = field(default_factory=dict)
    resumed: dict[str, int] = field(default_factory=dict)
    timed_out: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.recovered or self.resumed or self.timed_out or self.errors)

    def summary(self) -> str:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none"

        parts = [f"resumed: {fmt(self.resumed)}", f"recovered: {fmt(self.recovered)}", f"timed out: {self.timed_out}"]
        parts += [f"error: {e}" for e in self.errors]
        return "; ".join(parts)


class Worker:
    """Resumes what operators decided, with the graphs named in config.toml."""

    def __init__(
        self, config: Config, db: DbTarget, *, clock: Clock | None = None, operator: Operator | None = None
    ) -> None:
        self.config = config
        self.db = db
        self.desk = DecisionDesk(config, db, operator or current_operator(), clock=clock)
        assert self.desk.resumer is not None
        self.resumer = self.desk.resumer
        self._clock = clock
        from hitl_tui.policy.timeouts import TimeoutSweeper

        self.timeouts = TimeoutSweeper(config, db, self.desk, clock=clock)

    def graph_names(self) -> list[str]:
        return self.resumer.loadable_graphs()

    def run_pass(self) -> WorkerReport:
        report = WorkerReport()
        try:
            self.desk.audit.check_writable()
        except AuditLogError as err:  # the same rule as deciding: nothing runs while its trail can't be written
            report.errors.append(f"{err} Nothing was resumed; decided threads wait until the log can be written.")
            return report
        try:
            for _, state in self.resumer.recover():
                report.recovered[state.value] = report.recovered.get(state.value, 0) + 1
            report.timed_out = self.timeouts.sweep()
            report.errors.extend(f"thread {s.thread_id}: {s.reason}" for s in self.timeouts.skipped)
            for _, state in self.resumer.run():
                report.resumed[state.value] = report.resumed.get(state.value, 0) + 1
        except (GraphLoadError, ClaimLost) as err:  # a lost claim: the lease's new holder settles it; go on
            report.errors.append(err.message)
        report.errors.extend(self.resumer.load_errors)  # graphs that failed to load; their batches wait
        self.resumer.load_errors.clear()
        orphans = self._waiting_for_unknown_graphs()
        if orphans:
            report.errors.append(f"decisions waiting for a graph this worker has no code for: {orphans}; name it "
                                 "in this worker's config.toml [graphs] (README: \"Naming your graph\")")
        self.desk.flush_audit()
        if self.desk.audit_error:
            report.errors.append(self.desk.audit_error)
        return report

    def _waiting_for_unknown_graphs(self) -> str:
        """Decided threads that no run of this worker will ever resume, by graph: never a silent wait."""
        loadable = set(self.resumer.loadable_graphs())
        counts: dict[str, int] = {}
        for row in self.desk.ledger.in_state(DecisionState.DECIDED):
            if row.graph_id not in loadable:
                name = repr(row.graph_id) if row.graph_id else "no graph named"
                counts[name] = counts.get(name, 0) + 1
        return ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))

    def close(self) -> None:
        self.timeouts.close()
        self.desk.close()


__all__ = ["DecisionState", "Worker", "WorkerReport"]
