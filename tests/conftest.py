"""Suite-wide test setup: SVG snapshots live in the top-level snapshots/ folder, and Textual never animates.

UI fixtures live in tests/ui_fixtures.py, registered here as a plugin (its fixtures only run when a test asks).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest_textual_snapshot
import textual.constants

# Shared fixtures: env (a fresh demo DB), pg_server/pg_dsn (a throwaway PostgreSQL), backend_db (SQLite and Postgres).
pytest_plugins = ("ui_fixtures", "helpers_decisions", "pg_server", "reader_backends")

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "snapshots"

# No Python-level open of a DB file we hold a connection to, here and in every Python the tests start (see the
# guard's doc): subprocesses import it as `sitecustomize` from PYTHONPATH, this process loads it now.
GUARD = Path(__file__).resolve().parent / "guard"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD), os.environ.get("PYTHONPATH")]))
_spec = importlib.util.spec_from_file_location("hitl_db_open_guard", GUARD / "sitecustomize.py")
assert _spec is not None and _spec.loader is not None
db_open_guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(db_open_guard)

# The env var is read when textual.constants is first imported, which happens before this file runs.
textual.constants.TEXTUAL_ANIMATIONS = "none"  # type: ignore[misc]


class TopLevelSnapshots(pytest_textual_snapshot.SVGImageExtension):
    """snapshots/<test module>/<test name>.svg instead of __snapshots__ beside each test file."""

    @classmethod
    def dirname(cls, *, test_location) -> str:  # type: ignore[no-untyped-def, override]
        return str(SNAPSHOTS / Path(test_location.filepath).stem)


# snap_compare looks the extension up on the module each time it runs.
pytest_textual_snapshot.SVGImageExtension = TopLevelSnapshots  # type: ignore[misc]

# No test may reach a real model: drop any API key the machine has; tests that want one set it themselves.
# Nor pick up an operator's config.toml (policies, bands) from the environment.
for _var in ("OPENAI_API_KEY", "HITL_OPENAI_API_KEY", "OPENAI_BASE_URL", "HITL_OPENAI_BASE_URL", "HITL_TUI_CONFIG"):
    os.environ.pop(_var, None)
