"""`hitl-tui` (and `hitl-tui demo`) open the console here."""

from __future__ import annotations

from hitl_tui.config import Config
from hitl_tui.db_target import DbTarget


def run_console(config: Config, db: DbTarget, readonly: bool = False) -> int:
    """Run the console until the operator quits; the exit code for the shell."""
    from hitl_tui.ui.app import build_app

    app = build_app(config, db, readonly=readonly)
    app.run()
    return int(app.return_code or 0)
