"""Which config and which checkpoint DB a command works on: the one lookup every command shares."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from hitl_tui.config import Config, load_config
from hitl_tui.db_target import DbTarget, db_target, is_postgres
from hitl_tui.errors import ConfigError


def find_config(explicit: Path | None) -> Path | None:
    """--config, else $HITL_TUI_CONFIG, else ./config.toml when there is one; None means defaults."""
    if explicit is not None:
        return explicit
    env = os.environ.get("HITL_TUI_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.is_file() else None


def resolve(args: argparse.Namespace, *, resumes: bool = False) -> tuple[Config, DbTarget]:
    """The config and the checkpoint DB path a subcommand works on. `resumes`: the command may load the configured
    graphs to resume threads, so a graph module that can't be found is reported now, before anything is decided."""
    config = load_config(find_config(getattr(args, "config", None)))
    if resumes:
        from hitl_tui.decisions.graph_loader import check_graph_targets

        check_graph_targets(config)
    db = getattr(args, "db", None) or config.db
    if db is None:
        raise ConfigError("No checkpoint DB given: pass --db PATH or set console.db in config.toml.")
    target = db_target(db)
    if is_postgres(target):
        return config, target  # no file to keep the log beside: the config's (default ./decisions.jsonl)
    return audit_beside_db(config, Path(target)), Path(target)


def audit_beside_db(config: Config, db: Path) -> Config:
    """Without a config file, the audit log lives next to the DB, not in whatever folder a console was started
    from: every console, CLI call and worker on one DB then writes one log."""
    if config.source is not None:
        return config
    return dataclasses.replace(config, audit_log=db.resolve().parent / "decisions.jsonl")
