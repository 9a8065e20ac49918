"""The tamper-evident audit log: hash-chained JSON lines, safe for many appending processes.

    log = AuditLog(path)
    log.append({"event": EVENT_DECISION, "actor": operator, "thread_id": ...}, event_id="decision:42")
    report = verify(path)
    tail = AuditTail(path); tail.read_new()
"""

from hitl_tui.audit.anchor import Anchor, anchor_path_for, read_anchor
from hitl_tui.audit.chain import (
    EVENT_AUTO_DECISION,
    EVENT_CONTINUED,
    EVENT_DECISION,
    EVENT_OUTCOME,
    EVENT_REFUSED,
    EVENT_TIMEOUT,
    GENESIS_HASH,
    OUTCOME_FAILED,
    OUTCOME_FINISHED,
    OUTCOME_IN_DOUBT,
    OUTCOME_PAUSED_AGAIN,
    STANDARD_FIELDS,
    record_hash,
)
from hitl_tui.audit.errors import AuditLogCorrupt, AuditLogError, AuditLogMissing, AuditLogUnwritable
from hitl_tui.audit.log import AuditLog, iter_records, utc_timestamp
from hitl_tui.audit.outbox import unflushed_events
from hitl_tui.audit.tail import UNPARSEABLE, AuditTail, format_record
from hitl_tui.audit.verify import (
    VerifyReport,
    verify,
    verify_data,
)
from hitl_tui.canonical import canonical_bytes, hash_json

__all__ = [
    "EVENT_AUTO_DECISION",
    "EVENT_CONTINUED",
    "EVENT_DECISION",
    "EVENT_OUTCOME",
    "EVENT_REFUSED",
    "EVENT_TIMEOUT",
    "GENESIS_HASH",
    "OUTCOME_FAILED",
    "OUTCOME_FINISHED",
    "OUTCOME_IN_DOUBT",
    "OUTCOME_PAUSED_AGAIN",
    "STANDARD_FIELDS",
    "UNPARSEABLE",
    "Anchor",
    "AuditLog",
    "AuditLogCorrupt",
    "AuditLogError",
    "AuditLogMissing",
    "AuditLogUnwritable",
    "AuditTail",
    "VerifyReport",
    "anchor_path_for",
    "canonical_bytes",
    "format_record",
    "hash_json",
    "iter_records",
    "read_anchor",
    "record_hash",
    "unflushed_events",
    "utc_timestamp",
    "verify",
    "verify_data",
]
