"""Two approvals pending at once on one thread: parallel branches that interrupt in the same step.

    START -> prepare -> finance_review  --\\
                     -> security_review --+-> finalize -> END

Onboarding a vendor needs finance to approve the first payment and security to approve system access.
Both branches run in the same superstep and each pauses with `request_approval`, so the thread has two
interrupt ids. Resume both with `Command(resume={id_finance: answer, id_security: answer})`; a bare
`Command(resume=answer)` raises because two are pending. Answering one leaves the other pending; each
branch's effect runs once, right after its own approval.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hitl_tui.agent import request_approval
from hitl_tui.demo import offline
from hitl_tui.demo.kit import Effects, compile_demo, initiator, message

GRAPH_ID = "parallel_approvals"
BRANCHES = ("finance_review", "security_review")


class VendorState(TypedDict, total=False):
    request: str
    vendor: str
    payment: dict[str, Any]  # transfer args
    access: dict[str, Any]  # grant_access args
    messages: Annotated[list[dict[str, Any]], operator.add]
    outcomes: Annotated[list[dict[str, Any]], operator.add]  # {"branch", "decision", "ran"}
    status: str


def _vendor(request: str) -> str:
    words = [w.strip(".,:;") for w in request.split()]
    for i, word in enumerate(words[:-1]):
        if word.lower() == "vendor":
            return words[i + 1]
    return "NEWCO"


def build_graph(checkpointer: Any) -> Any:
    """The compiled two-branch approval agent."""
    effects = Effects(checkpointer)

    def prepare(state: VendorState) -> dict[str, Any]:
        request = state["request"]
        vendor = _vendor(request)
        amount = 500 + offline.seed_of(request) % 4500
        return {
            "vendor": vendor,
            "payment": {
                "amount": float(amount),
                "currency": "USD",
                "from_account": "OPERATING-001",
                "to_account": vendor.upper(),
            },
            "access": {
                "system": "procurement-portal",
                "account": f"{vendor.lower()}-svc",
                "role": "supplier",
            },
            "status": "awaiting approvals",
            "messages": [
                message("user", request),
                message("assistant", f"Onboarding {vendor}: two approvals needed."),
            ],
        }

    def branch(name: str, effect: str, key: Literal["payment", "access"], reasoning: str) -> Any:
        def node(state: VendorState, config: RunnableConfig) -> dict[str, Any]:
            args = state[key]
            answer = request_approval(
                effect,
                args,
                description=offline.describe(effect, args) if effect in offline.TOOLS else f"Grant {args}",
                reasoning=reasoning,
                risk=offline.risk_of(effect, args) if effect == "transfer" else "medium",
                initiator=initiator(config),
            )
            if answer.approved:
                effects.run(effect, answer.args, config, decision_id=answer.decision_id, call_id=name)
            outcome = {"branch": name, "decision": answer.decision.value, "ran": answer.approved}
            note = f"{name}: {answer.decision.value}" + (f" ({answer.text})" if answer.text else "")
            return {"outcomes": [outcome], "messages": [message("user", note)]}

        node.__name__ = name
        return node

    def finalize(state: VendorState) -> dict[str, Any]:
        ran = sorted(o["branch"] for o in state.get("outcomes", []) if o["ran"])
        status = "onboarded" if len(ran) == len(BRANCHES) else "incomplete"
        return {"status": status, "messages": [message("assistant", f"Vendor {state['vendor']}: {status}.")]}

    builder = StateGraph(VendorState)
    builder.add_node("prepare", prepare)
    builder.add_node(
        "finance_review",
        branch("finance_review", "transfer", "payment", "First payment to a new vendor."),
    )
    builder.add_node(
        "security_review",
        branch("security_review", "grant_access", "access", "A new vendor needs a portal account."),
    )
    builder.add_node("finalize", finalize)
    builder.add_edge(START, "prepare")
    for name in BRANCHES:
        builder.add_edge("prepare", name)
    builder.add_edge(list(BRANCHES), "finalize")
    builder.add_edge("finalize", END)
    return compile_demo(builder, checkpointer, GRAPH_ID)
