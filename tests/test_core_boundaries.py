"""The package's layers hold: the import-linter contracts in pyproject.toml pass, and no module below the UI pulls
Textual, LangGraph or openai in when imported (they would slow the console's first paint and every CLI call)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import hitl_tui

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "langgraph", "openai", "langchain_core")
# Everything but the Textual layer and the demo agents (which are LangGraph graphs); found, not listed by hand.
CORE_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(hitl_tui.__path__, "hitl_tui.")
    if not m.name.startswith(("hitl_tui.ui", "hitl_tui.demo")) and not m.name.endswith("__main__")
)


def test_import_contracts_hold() -> None:
    """Layers cli -> ui -> console -> policy -> decisions -> checkpoints/audit -> base, no cycles, no Textual
    below ui/: `lint-imports` checks the whole import graph, imports inside functions included."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_core_module_is_checked() -> None:
    assert {"hitl_tui.checkpoints.reader", "hitl_tui.decisions.ledger", "hitl_tui.console.watchers",
            "hitl_tui.cli.main", "hitl_tui.config"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_ui_and_no_agent_framework(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} pulls in {out}"


def test_the_contracts_name_every_top_level_module() -> None:
    """The contracts list the base modules by name: a new top-level module must join both lists (or a layer),
    or it would escape the 'base imports no package' and 'no Textual below ui/' checks."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layered = {name.strip() for c in contracts if c["type"] == "layers" for layer in c["layers"]
               for name in layer.split("|")}
    base = next(c for c in contracts if c["name"].startswith("Base modules"))["source_modules"]
    no_textual = next(c for c in contracts if c["name"].startswith("Nothing below ui/"))["source_modules"]
    top = {f"hitl_tui.{m.name}" for m in pkgutil.iter_modules(hitl_tui.__path__) if not m.ispkg} - {"hitl_tui.__main__"}
    unlisted = {m for m in top if m not in layered and (m not in base or m not in no_textual)}
    assert not unlisted, f"add {sorted(unlisted)} to the base lists of the import-linter contracts in pyproject.toml"
