"""Risk rules: what a pending action's risk is, whether it needs a confirmation, how many operators must
approve it, and by when.

    [[policy.rule]]
    action = "transfer*"                 # glob on the action name
    graph = "plan_execute"               # optional; glob on the graph id
    when = { amount = { ">" = 1000 } }   # optional argument conditions, see hitl_tui/conditions.py
    risk = "high"
    approvals = 2
    deadline_seconds = 3600

How rules combine: EVERY matching rule applies and the strictest value of each field wins -- the highest
risk, confirm if any rule asks for it, the most approvals, the shortest deadline. So the order of rules
never matters, and a broad rule can't weaken a specific one (a "first match wins" list would let a
catch-all placed too early silently drop a four-eyes rule). `default_deadline_seconds` applies only when no
matching rule sets a deadline. A batched pause (several actions) is assessed over all of its actions.
The risk an agent declared in its payload is a floor: rules can raise it, never lower it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from hitl_tui.conditions import matches
from hitl_tui.config import Config, PolicyConfig, RiskRule
from hitl_tui.model import RISK_ORDER, DecisionKind, PendingInterrupt, PendingThread, normalise_risk, risk_rank

HIGH_RISK = frozenset({"high", "critical"})
# Decisions that let the pending action run (the ones a confirmation guards).
EXECUTES = frozenset({DecisionKind.APPROVE, DecisionKind.EDIT})


@dataclass(frozen=True)
class Assessment:
    """What the policy says about one pending interrupt."""

    risk: str  # one of RISK_ORDER
    confirm: bool = False  # the console asks "are you sure?" before an approve
    approvals: int = 1  # distinct operators who must approve (four-eyes when > 1)
    deadline_seconds: float | None = None  # from paused_at; None: no deadline
    rule_index: int | None = None  # the first of the riskiest matching rules; None when no rule matched
    matched: tuple[int, ...] = ()  # every rule that matched, in config order
    declared_risk: str | None = None  # the agent's own risk in the payload, when it is a known level

    @property
    def risk_rank(self) -> int:
        return RISK_ORDER.index(self.risk)

    @property
    def asks_confirmation(self) -> bool:
        """Letting the action run needs an explicit "yes": high or critical risk, or a rule that says so. The
        console asks in a dialog; the command line wants --yes (or a prompt on a terminal)."""
        return self.risk in HIGH_RISK or self.confirm


def _glob(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    return value is not None and fnmatchcase(value, pattern)


def rule_applies(rule: RiskRule, graph_id: str | None, action: str, args: Any) -> bool:
    """True when `rule` matches one action of a graph."""
    return _glob(rule.graph, graph_id) and _glob(rule.action, action) and matches(rule.when, args)


def assess_actions(
    policy: PolicyConfig,
    graph_id: str | None,
    actions: Iterable[tuple[str, Any]],
    declared_risk: str | None = None,
) -> Assessment:
    """Assess (action name, args) pairs of one pause; the agent-side band uses this before a pause exists."""
    actions = list(actions)
    matched = [
        i for i, rule in enumerate(policy.rules)
        if any(rule_applies(rule, graph_id, name, args) for name, args in actions)
    ]
    declared = normalise_risk(declared_risk)
    if not matched:  # most pauses: one shared answer per declared risk, not one object per row of a 50k list
        return _unmatched(declared, policy.default_deadline_seconds)
    rule_index, rule_rank = None, -1
    confirm, approvals = False, 1
    deadlines: list[float] = []
    for i in matched:
        rule = policy.rules[i]
        if risk_rank(rule.risk) > rule_rank:
            rule_index, rule_rank = i, risk_rank(rule.risk)
        confirm = confirm or bool(rule.confirm)
        approvals = max(approvals, int(rule.approvals))
        if rule.deadline_seconds is not None:
            deadlines.append(float(rule.deadline_seconds))
    deadline = min(deadlines) if deadlines else policy.default_deadline_seconds
    return Assessment(
        risk=RISK_ORDER[max(rule_rank, risk_rank(declared), 0)],
        confirm=confirm,
        approvals=approvals,
        deadline_seconds=deadline,
        rule_index=rule_index,
        matched=tuple(matched),
        declared_risk=declared,
    )


@functools.lru_cache(maxsize=64)
def _unmatched(declared: str | None, deadline: float | None) -> Assessment:
    """The assessment of a pause no rule matched (frozen, so one object serves them all)."""
    return Assessment(risk=RISK_ORDER[max(risk_rank(declared), 0)], deadline_seconds=deadline, declared_risk=declared)


def assess(config: Config, thread: PendingThread, interrupt: PendingInterrupt) -> Assessment:
    """The policy's view of one pending interrupt (the console shows and sorts by it)."""
    return assess_actions(
        config.policy,
        thread.graph_id,
        ((a.name, a.args) for a in interrupt.actions),
        declared_risk=interrupt.risk,
    )
