"""Options that may stand before the subcommand (`hitl-tui --db X approve T`) or after it, with one meaning.

argparse gives a subcommand's own defaults the last word, so `--db X` before `approve` was silently replaced by
approve's default (None, then the config's DB). Here the top-level copies are parsed under their own names and
merged into the subcommand's after parsing: given once, either place means the same; given twice with
different values, or to a command that has no such option, it is refused with one sentence.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hitl_tui.db_target import db_target
from hitl_tui.errors import HitlError

GLOBAL_OPTIONS = ("config", "db", "readonly")


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The top-level --config, --db and --readonly, parsed as `global_<name>`."""
    parser.add_argument("--config", dest="global_config", type=Path,
                        help="config.toml to use (default: $HITL_TUI_CONFIG, then ./config.toml)")
    parser.add_argument("--db", dest="global_db", type=db_target, metavar="DB",
                        help="LangGraph checkpoint DB: a SQLite file or a postgresql://user@host/dbname URL "
                        "(default: console.db in the config)")
    parser.add_argument("--readonly", dest="global_readonly", action="store_true",
                        help="observer mode: see everything, decide nothing")


def _command_name(args: argparse.Namespace) -> str:
    sub = getattr(args, "audit_command", None)
    return f"hitl-tui {args.command}" + (f" {sub}" if sub else "")


def merge_global_options(args: argparse.Namespace) -> None:
    """Move the top-level options onto the subcommand's names, refusing contradictions (HitlError)."""
    for name in GLOBAL_OPTIONS:
        before = getattr(args, f"global_{name}")
        delattr(args, f"global_{name}")
        if args.command is None:  # the console: the top-level options are its own
            setattr(args, name, before)
            continue
        if before is None or before is False:
            continue
        if not hasattr(args, name):
            raise HitlError(f"--{name} does not apply to `{_command_name(args)}`; leave it out.")
        after = getattr(args, name)
        if after is not None and after is not False and after != before:
            raise HitlError(f"--{name} was given twice with different values ({before} before "
                            f"`{args.command}`, {after} after it); give it once.")
        setattr(args, name, before)
