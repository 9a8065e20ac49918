"""`hitl-tui audit verify`: the audit log's hash chain checked, as one verdict and an exit code."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from hitl_tui.audit import AuditLogMissing, unflushed_events, verify
from hitl_tui.cli.config_lookup import audit_beside_db, find_config
from hitl_tui.config import load_config
from hitl_tui.db_target import is_postgres
from hitl_tui.errors import ExitCode


def run_audit(args: argparse.Namespace, out: TextIO) -> int:
    """The parsed `audit verify` command: the log named, or the configured one (beside the DB without a config)."""
    config = load_config(find_config(args.config))
    db = args.db or config.db
    if is_postgres(db):
        from hitl_tui.cli.audit_postgres import verify_pg_command

        copy = args.path or (config.audit_log if config.audit_log.exists() else None)
        return verify_pg_command(str(db), copy, args.json, out)
    if db is not None:
        config = audit_beside_db(config, Path(db))
    path = args.path or config.audit_log
    return verify_command(path, args.json, out, db=Path(db) if db is not None else None)


def verify_command(path: Path, as_json: bool, out: TextIO, *, db: Path | None = None) -> int:
    """`hitl-tui audit verify [PATH]`: print the verdict; 0 intact, 1 tampered, 2 missing or unreadable. With the
    DB, also how many events it holds that are not in the log yet (durable there; the next flush copies them)."""
    pending = unflushed_events(db) if db is not None else None
    if pending and not as_json:
        out.write(f"note: {pending} event(s) recorded in {db} are not in the log yet; the next decision, worker "
                  "pass or console copies them.\n")
    try:
        report = verify(path)
    except AuditLogMissing as exc:
        if as_json:
            failure = {"path": str(path), "ok": False, "error": exc.message, "exit_code": ExitCode.ERROR,
                       "pending_in_db": pending}
            out.write(json.dumps(failure) + "\n")
        else:
            out.write(exc.message + "\n")
        return ExitCode.ERROR
    code = ExitCode.OK if report.ok else ExitCode.CHECK_FAILED
    if as_json:
        out.write(json.dumps({**report.as_dict(), "exit_code": code, "pending_in_db": pending}) + "\n")
        return code
    if report.ok:
        tail = f", last seq {report.last_seq} (hash {report.last_hash[:12]})" if report.last_hash else ""
        out.write(f"OK: {path}: {report.records} records, chain intact{tail}.\n")
        for note in report.notes:
            out.write(f"note: {note}.\n")
    else:
        out.write(f"TAMPERED: {path}: {report.reason}.\n")
        out.write(f"{report.records} records before that point checked out.\n")
    return code
