"""`hitl-tui` command line: one parser, subcommands that call the core, errors as one sentence and an exit code.

Heavy imports (Textual, LangGraph, openai) happen inside the subcommand that needs them, so `--help` and
`list` start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hitl_tui import __version__
from hitl_tui.cli.config_lookup import find_config, resolve
from hitl_tui.cli.options import add_global_options, merge_global_options
from hitl_tui.db_target import DbTarget, db_target, is_postgres
from hitl_tui.errors import ExitCode, HitlError

DEFAULT_DEMO_DIR = Path("hitl-demo")
EXIT_CODES = (
    "Exit codes: 0 done; 1 the audit log was tampered with (audit verify) or a check failed (doctor); 2 an error "
    "(bad input, config or DB: one sentence on stderr); 3 a decision was refused (stale, already decided, not "
    "allowed); 130 interrupted."
)


def _add_common(p: argparse.ArgumentParser, *, db: bool = True) -> None:
    p.add_argument("--config", type=Path, help="config.toml to use (default: $HITL_TUI_CONFIG, then ./config.toml)")
    if db:
        p.add_argument("--db", type=db_target, metavar="DB", help="LangGraph checkpoint DB: a SQLite file or a "
                       "postgresql://user@host/dbname URL (default: console.db in the config)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hitl-tui",
        description="Terminal approval console for human-in-the-loop LangGraph agents. "
        "With no command, opens the console on the configured checkpoint DB. --config, --db and --readonly may "
        "stand before a command or after it, with the same meaning.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"hitl-tui {__version__}")
    add_global_options(parser)
    sub = _ExitCodesInHelp(parser.add_subparsers(dest="command", metavar="COMMAND"))

    p = sub.add_parser(
        "demo",
        help="(re)create a demo DB with paused agents and open the console on it",
        description="Create (or, with --force, wipe and recreate) a demo checkpoint DB with every kind of paused "
        "agent, then open the console on it.",
    )
    p.add_argument("--dir", type=Path, default=DEFAULT_DEMO_DIR, help="where the demo files go (default: ./hitl-demo)")
    p.add_argument("--live", action="store_true", help="keep starting new agent runs every few seconds")
    p.add_argument("--interval", type=float, default=4.0, help="seconds between new runs with --live (default: 4)")
    p.add_argument("--no-console", action="store_true", help="prepare the demo and print the paused threads only")
    p.add_argument("--force", action="store_true",
                   help="replace an existing demo DB (with its audit log and outbox) without asking")
    p.add_argument("--readonly", action="store_true", help="open the console in observer mode")
    p.add_argument(
        "--offline",
        action="store_true",
        help="plan with the deterministic offline planner even when OPENAI_API_KEY is set",
    )

    from hitl_tui.cli.list import add_list_command

    add_list_command(sub, _add_common)

    p = sub.add_parser(
        "watch",
        help="print events as they happen: paused, decided, resumed, failed, escalated",
        description="Print an event for each interrupt that starts waiting, each decision recorded by any console "
        "or command and what became of its resume, and each item passing 50% or 80% of its deadline or "
        "going overdue. Reads only. Runs until interrupted (exit 0) or until its pipe's reader goes away.",
    )
    _add_common(p)
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line, for scripts")

    p = sub.add_parser(
        "doctor",
        help="check that you can read and decide on the DB and append to the audit log",
        description="Check, for the user running it, the config, the checkpoint DB, its folder and -wal/-shm "
        "files, the audit log and its anchor: read and write access, shared group, setgid folders, umask, and "
        "that SQLite can take the DB's write lock. Says what to fix; exit 1 when something must be fixed.",
    )
    _add_common(p)

    from hitl_tui.cli.decide import add_decision_commands

    add_decision_commands(sub, _add_common)

    p = sub.add_parser("audit", help="work with the audit log", description="Work with the audit log.")
    audit_sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = audit_sub.add_parser(
        "verify",
        help="check the audit log's hash chain",
        description="Check the audit log's hash chain; exit 1 when it was tampered with.",
    )
    v.add_argument("path", nargs="?", type=Path, help="audit log (default: console.audit_log in the config)")
    v.add_argument("--config", type=Path, help="config.toml to use")
    v.add_argument("--db", type=db_target, metavar="DB", help="checkpoint DB whose decisions the log records: also "
                   "reports events recorded there but not yet copied to the log; for a postgresql:// URL, checks the "
                   "database's own hash chain too (default: console.db in the config)")
    v.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser(
        "report",
        help="calibration: how operators decided per confidence bucket",
        description="Read the audit log and show, per confidence bucket, how operators decided, how "
        "often the configured band would have auto-decided wrongly, and the thresholds the data suggests.",
    )
    p.add_argument("path", nargs="?", type=Path, help="audit log (default: console.audit_log in the config)")
    p.add_argument("--config", type=Path, help="config.toml to use")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


class _ExitCodesInHelp:
    """The subparsers action, giving every subcommand's --help the exit codes too."""

    def __init__(self, action: Any) -> None:
        self._action = action

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("epilog", EXIT_CODES)
        parser: argparse.ArgumentParser = self._action.add_parser(name, **kwargs)
        return parser


def _cmd_list(args: argparse.Namespace) -> int:
    from hitl_tui.cli.list import run_list

    config, db = resolve(args)
    return run_list(args, config, db)


def _cmd_watch(args: argparse.Namespace) -> int:
    from hitl_tui.cli.watch import run_watch

    config, db = resolve(args)
    return run_watch(config, db, sys.stdout, sys.stderr, jsonl=args.jsonl)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from hitl_tui.cli.doctor import run_doctor

    _sqlite_only(args.db, "doctor")
    return run_doctor(find_config(args.config), args.db, sys.stdout)


def _sqlite_only(db: DbTarget | None, command: str) -> None:
    if is_postgres(db):
        raise HitlError(f"`hitl-tui {command}` works on a SQLite checkpoint file; on Postgres, use the console, "
                        "`list`, `watch`, the decision commands and `worker`.")


def _cmd_audit(args: argparse.Namespace) -> int:
    from hitl_tui.cli.audit import run_audit

    return run_audit(args, sys.stdout)


def _cmd_report(args: argparse.Namespace) -> int:
    from hitl_tui.cli.report import run_report

    return run_report(args, sys.stdout)


def _cmd_demo(args: argparse.Namespace) -> int:
    from hitl_tui.cli.demo import run_demo

    return run_demo(args)


def _cmd_console(args: argparse.Namespace) -> int:
    from hitl_tui.ui.launch import run_console

    config, db = resolve(args, resumes=not args.readonly)
    return run_console(config, db, readonly=args.readonly)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"list": _cmd_list, "watch": _cmd_watch, "doctor": _cmd_doctor, "audit": _cmd_audit, "demo": _cmd_demo,
                "report": _cmd_report, None: _cmd_console}
    try:
        merge_global_options(args)
        from hitl_tui.cli.decide import DECISION_COMMANDS, run_decision_command

        if args.command in DECISION_COMMANDS:
            return run_decision_command(args)
        return handlers[args.command](args)
    except HitlError as err:
        print(f"hitl-tui: {err.message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `hitl-tui list | head`: the reader went away; that is not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
