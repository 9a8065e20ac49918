"""`hitl-tui report`: calibration of the confidence band from the audit log, as text or JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from hitl_tui.cli.config_lookup import find_config
from hitl_tui.config import Config, load_config
from hitl_tui.errors import ExitCode
from hitl_tui.policy.report import ReportError, build_report, read_log
from hitl_tui.policy.report_render import render


def run_report(args: argparse.Namespace, out: TextIO) -> int:
    """The parsed `report` command: the log named, or the configured one."""
    config = load_config(find_config(args.config))
    return report_command(args.path or config.audit_log, out, args.json, config=config)


def report_command(audit_path: Path, out: TextIO, as_json: bool, *, config: Config | None = None) -> int:
    """`hitl-tui report [PATH]`: 0 with the report, 2 with one sentence when the log can't be read."""
    try:
        records, bad = read_log(Path(audit_path))
    except ReportError as err:
        if as_json:
            out.write(json.dumps({"path": str(audit_path), "ok": False, "error": err.message,
                                  "exit_code": ExitCode.ERROR}) + "\n")
        else:
            out.write(err.message + "\n")
        return ExitCode.ERROR
    bands = config.policy.bands if config is not None else ()
    report = build_report(records, path=str(audit_path), bands=bands, unreadable=bad)
    if as_json:
        out.write(json.dumps({**report.as_dict(), "ok": True, "exit_code": ExitCode.OK}) + "\n")
    else:
        out.write(render(report, encoding=getattr(out, "encoding", None)))
    return ExitCode.OK
