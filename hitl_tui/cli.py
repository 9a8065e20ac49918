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

from hitl_tui import __version__
from hitl_tui.config import Config, load_config
from hitl_tui.errors import ConfigError, HitlError

EXIT_OK, EXIT_TAMPERED, EXIT_ERROR, EXIT_REFUSED = 0, 1, 2, 3
DEFAULT_DEMO_DIR = Path("hitl-demo")


def _find_config(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("HITL_TUI_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.is_file() else None


def resolve(args: argparse.Namespace) -> tuple[Config, Path]:
    """The config and the checkpoint DB path a subcommand works on."""
    config = load_config(_find_config(getattr(args, "config", None)))
    db = getattr(args, "db", None) or config.db
    if db is None:
        raise ConfigError("No checkpoint DB given: pass --db PATH or set console.db in config.toml.")
    return config, Path(db)


def _add_common(p: argparse.ArgumentParser, *, db: bool = True) -> None:
    p.add_argument("--config", type=Path, help="config.toml to use (default: $HITL_TUI_CONFIG, then ./config.toml)")
    if db:
        p.add_argument("--db", type=Path, help="LangGraph SQLite checkpoint DB (default: console.db in the config)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hitl-tui",
        description="Terminal approval console for human-in-the-loop LangGraph agents. "
        "With no command, opens the console on the configured checkpoint DB.",
    )
    parser.add_argument("--version", action="version", version=f"hitl-tui {__version__}")
    _add_common(parser)
    parser.add_argument("--readonly", action="store_true", help="observer mode: see everything, decide nothing")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "demo",
        help="(re)create a demo DB with paused agents and open the console on it",
        description="Wipe and recreate a demo checkpoint DB with every kind of paused agent, "
        "then open the console on it.",
    )
    p.add_argument("--dir", type=Path, default=DEFAULT_DEMO_DIR, help="where the demo files go (default: ./hitl-demo)")
    p.add_argument("--live", action="store_true", help="keep starting new agent runs every few seconds")
    p.add_argument("--interval", type=float, default=4.0, help="seconds between new runs with --live (default: 4)")
    p.add_argument("--no-console", action="store_true", help="prepare the demo and print the paused threads only")
    p.add_argument("--readonly", action="store_true", help="open the console in observer mode")
    p.add_argument(
        "--offline",
        action="store_true",
        help="plan with the deterministic offline planner even when OPENAI_API_KEY is set",
    )

    from hitl_tui.cli_list import add_list_command

    add_list_command(sub, _add_common)

    from hitl_tui.cli_decide import add_decision_commands

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


def _cmd_list(args: argparse.Namespace) -> int:
    from hitl_tui.cli_list import run_list

    config, db = resolve(args)
    return run_list(args, config, db)


def _cmd_audit(args: argparse.Namespace) -> int:
    from hitl_tui.audit import verify_command

    path = args.path
    if path is None:
        path = load_config(_find_config(args.config)).audit_log
    return verify_command(path, args.json, sys.stdout)


def _cmd_report(args: argparse.Namespace) -> int:
    from hitl_tui.policy.report import report_command

    config = load_config(_find_config(args.config))
    return report_command(args.path or config.audit_log, sys.stdout, args.json, config=config)


def _cmd_demo(args: argparse.Namespace) -> int:
    from hitl_tui.demo_cmd import run_demo

    return run_demo(args)


def _cmd_console(args: argparse.Namespace) -> int:
    from hitl_tui.ui.launch import run_console

    config, db = resolve(args)
    return run_console(config, db, readonly=args.readonly)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"list": _cmd_list, "audit": _cmd_audit, "demo": _cmd_demo, "report": _cmd_report, None: _cmd_console}
    try:
        from hitl_tui.cli_decide import DECISION_COMMANDS, run_decision_command

        if args.command in DECISION_COMMANDS:
            return run_decision_command(args)
        return handlers[args.command](args)
    except HitlError as err:
        print(f"hitl-tui: {err.message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `hitl-tui list | head`: the reader went away; that is not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
