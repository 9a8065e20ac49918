"""`hitl-tui audit verify --db postgresql://...`: the database's own hash chain, then a host's file copy of it.

A file copy passes when its own chain is intact and every event in it is one of the database's, in the
database's order (a copy may lag behind; it may not invent, drop from its middle, or reorder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import psycopg

from hitl_tui.audit.pg_chain import verify_chain
from hitl_tui.checkpoints.postgres.store import redact
from hitl_tui.decisions.postgres.ledger_db import explain

EXIT_OK, EXIT_TAMPERED, EXIT_ERROR = 0, 1, 2


def verify_pg_command(dsn: str, path: Path | None, as_json: bool, out: TextIO) -> int:
    """Print the verdicts; 0 intact, 1 tampered, 2 unreadable."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT to_regclass('hitl_events') IS NULL").fetchone()[0]:  # type: ignore[index]
                report_ok, events, reason, order = True, 0, None, []
            else:
                report = verify_chain(conn)
                report_ok, events, reason = report.ok, report.events, report.reason
                order = [r[0] for r in conn.execute("SELECT event_id FROM hitl_events ORDER BY seq")]
    except psycopg.Error as err:
        out.write(f"{explain(dsn, err).message}\n")
        return EXIT_ERROR
    where = redact(dsn)
    results = [{"db": where, "ok": report_ok, "events": events, "error": reason}]
    if path is not None:
        results.append(_check_copy(path, order))
    code = EXIT_OK if all(r["ok"] for r in results) else EXIT_TAMPERED
    if any(r.get("missing") for r in results):
        code = EXIT_ERROR
    if as_json:
        out.write(json.dumps({"results": results, "exit_code": code}) + "\n")
        return code
    for r in results:
        name = r.get("db") or r.get("path")
        if r["ok"]:
            out.write(f"OK: {name}: {r['events']} events, chain intact.\n")
        else:
            out.write(f"TAMPERED: {name}: {r['error']}.\n")
    return code


def _check_copy(path: Path, order: list[str]) -> dict[str, object]:
    from hitl_tui.audit import AuditLogMissing, iter_records, verify

    try:
        report = verify(path)
    except AuditLogMissing as exc:
        return {"path": str(path), "ok": False, "missing": True, "events": 0, "error": exc.message}
    if not report.ok:
        return {"path": str(path), "ok": False, "events": report.records, "error": report.reason}
    position = {event_id: i for i, event_id in enumerate(order)}
    last = -1
    count = 0
    for record in iter_records(path):
        event_id = record.get("event_id")
        if event_id not in position:
            return {"path": str(path), "ok": False, "events": count,
                    "error": f"event {event_id} is not in the database's chain"}
        if position[event_id] <= last:
            return {"path": str(path), "ok": False, "events": count,
                    "error": f"event {event_id} is out of the database's order"}
        last = position[event_id]
        count += 1
    return {"path": str(path), "ok": True, "events": count, "error": None}
