"""The core never imports Textual (or LangGraph/openai, which would slow the console's first paint)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "hitl_tui.model",
    "hitl_tui.config",
    "hitl_tui.checkpoints.decode",
    "hitl_tui.checkpoints.payloads",
    "hitl_tui.checkpoints.classify",
    "hitl_tui.checkpoints.reader",
    "hitl_tui.cli.listing",
    "hitl_tui.safe_text",
    "hitl_tui.agent",
    "hitl_tui.decisions.decision",
    "hitl_tui.decisions.state",
    "hitl_tui.notify",
    "hitl_tui.console.watch_events",
    "hitl_tui.cli.watch",
    "hitl_tui.cli.doctor",
    "hitl_tui.decisions.resume_values",
    "hitl_tui.decisions.ledger",
    "hitl_tui.decisions.desk",
    "hitl_tui.decisions.resumer",
    "hitl_tui.audit",
    "hitl_tui.identity",
    "hitl_tui.cli.main",
    "hitl_tui.conditions",
    "hitl_tui.policy.rules",
    "hitl_tui.policy.requirements",
    "hitl_tui.policy.timeouts",
    "hitl_tui.policy.band",
    "hitl_tui.policy.report",
    "hitl_tui.policy.report_render",
    "hitl_tui.console.subjects",  # what dialogs say: built without Textual
    "hitl_tui.console.list_shape",
    "hitl_tui.console.item_state",
]
HEAVY = ("textual", "langgraph", "openai", "langchain_core")


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_ui_and_no_agent_framework(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} pulls in {out}"
