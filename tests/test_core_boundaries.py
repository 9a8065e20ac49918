"""The core never imports Textual (or LangGraph/openai, which would slow the console's first paint)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "hitl_tui.model",
    "hitl_tui.config",
    "hitl_tui.key_config",
    "hitl_tui.decode",
    "hitl_tui.payloads",
    "hitl_tui.pending",
    "hitl_tui.reader",
    "hitl_tui.listing",
    "hitl_tui.safe_text",
    "hitl_tui.agent",
    "hitl_tui.decision",
    "hitl_tui.decision_state",
    "hitl_tui.notify",
    "hitl_tui.watch_events",
    "hitl_tui.watch_cmd",
    "hitl_tui.doctor",
    "hitl_tui.resume_values",
    "hitl_tui.ledger",
    "hitl_tui.desk",
    "hitl_tui.resumer",
    "hitl_tui.audit",
    "hitl_tui.identity",
    "hitl_tui.cli",
    "hitl_tui.policy.conditions",
    "hitl_tui.policy.rules",
    "hitl_tui.policy.requirements",
    "hitl_tui.policy.timeouts",
    "hitl_tui.policy.band",
    "hitl_tui.policy.report",
    "hitl_tui.policy.report_render",
    "hitl_tui.ui.subjects",  # what dialogs say: built without Textual
    "hitl_tui.ui.list_shape",
    "hitl_tui.ui.item_state",
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
