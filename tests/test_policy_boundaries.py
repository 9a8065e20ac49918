"""The policy layer is core: it imports no Textual, and nothing heavy until an agent actually uses a band."""

from __future__ import annotations

import subprocess
import sys

import pytest

POLICY_MODULES = [
    "hitl_tui.policy.conditions",
    "hitl_tui.policy.rules",
    "hitl_tui.policy.requirements",
    "hitl_tui.policy.timeouts",
    "hitl_tui.policy.band",
    "hitl_tui.policy.report",
    "hitl_tui.policy.report_render",
]
HEAVY = ("textual", "langgraph", "openai", "langchain_core")


@pytest.mark.parametrize("module", POLICY_MODULES)
def test_policy_module_imports_no_ui_and_no_agent_framework(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} pulls in {out}"
