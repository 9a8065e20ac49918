"""Every demo agent, with the requests the demo runs it on and what config.toml must say about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INITIATORS = ("alice", "bob", "carol", "dave")


@dataclass(frozen=True)
class DemoAgent:
    graph_id: str
    module: str  # importable module exposing build_graph(checkpointer) and GRAPH_ID
    prefix: str  # thread ids read "<prefix>-0001"
    requests: tuple[str, ...]
    graph_config: dict[str, Any] = field(default_factory=dict)  # extra keys for [graphs.<graph_id>]

    @property
    def factory(self) -> str:
        """The `graph = "module:attr"` value for config.toml."""
        return f"{self.module}:build_graph"


AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent(
        "email_agent",
        "hitl_tui.demo.email_agent",
        "email",
        (
            "Send an email to dana@example.com saying the Q3 report is ready for review",
            "Write to billing@globex.io about the overdue invoice #4411",
            "Email Priya Patel that the offsite moves to Thursday at 10am",
            "Send an email to lee@initech.com saying we accept the revised quote",
            "Email ops@example.com saying the database failover test passed",
        ),
    ),
    DemoAgent(
        "plan_execute",
        "hitl_tui.demo.plan_execute",
        "plan",
        (
            "Transfer $2,500 to ACME-SUPPLIES for invoice 4411",
            "Delete /srv/exports/customers-2022.csv",
            "Open an urgent ticket: checkout is down in the EU region",
            "Post the v2.3 release notes to #announcements",
        ),
        {
            "interrupt_before": ["execute"],
            "action_field": "pending_action",
            "approve_update": {"human_feedback": "approved"},
            "reject_update": {"human_feedback": "rejected: {reason}"},
            "feedback_update": {"human_feedback": "{text}"},
        },
    ),
    DemoAgent(
        "confidence_agent",
        "hitl_tui.demo.confidence_agent",
        "confidence",
        (
            # Offline, the first three are below the 0.8 threshold (they pause); the routine question is not.
            "I want a refund for order 1234, it arrived broken",
            "Can I cancel my annual plan and get compensation for last week's outage?",
            "My bank says your charge is a duplicate. Will you reverse it or should I file a chargeback?",
            "What are your opening hours on Sunday?",
        ),
    ),
    DemoAgent(
        "batch_tools",
        "hitl_tui.demo.batch_tools",
        "batch",
        (
            "Pay €120.50 to account DE-7731 and then delete reports/2023-draft.xlsx, then post a summary to #finance",
            "Transfer $9,800 to account INITECH-44; email cfo@example.com saying the Initech payment went out",
            "Delete /srv/tmp/export-old.csv and then open a ticket: rotate the export credentials",
        ),
    ),
    DemoAgent(
        "per_call_tools",
        "hitl_tui.demo.per_call_tools",
        "percall",
        (
            "Delete /tmp/cache/build-1234.tar and then post the cache cleanup to #ops",
            "Pay $300 to account UMBRELLA-7, then open a ticket: reconcile the Umbrella invoices",
            "Transfer $75 to account PETTY-CASH and then email anna@example.com saying the petty cash is topped up",
        ),
    ),
    DemoAgent(
        "inbox",
        "hitl_tui.demo.inbox_agent",
        "inbox",
        (
            "Delete /var/backups/db-2023-01.dump",
            "Transfer $4,200 to account HOOLI-22 for the conference booth",
            "Post the on-call handover notes to #sre",
        ),
    ),
    DemoAgent(
        "parallel_approvals",
        "hitl_tui.demo.parallel_approvals",
        "parallel",
        (
            "Onboard vendor Globex for office supplies",
            "Onboard vendor Initech for printer maintenance",
            "Onboard vendor Umbrella for lab equipment",
        ),
    ),
    DemoAgent(
        "subgraph_approval",
        "hitl_tui.demo.subgraph_approval",
        "subgraph",
        (
            "Pay $800 to ACME for the March invoice",
            "Wire $12,000 to account STARK-01 for the prototype batch",
            "Pay €2,300 to account WAYNE-9 for the security audit",
        ),
    ),
)


def agent(graph_id: str) -> DemoAgent:
    """The demo agent with this graph id (KeyError if there is none)."""
    for candidate in AGENTS:
        if candidate.graph_id == graph_id:
            return candidate
    raise KeyError(graph_id)
