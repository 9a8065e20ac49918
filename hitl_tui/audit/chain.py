"""The hash chain: canonical JSON, record hashes, and the fields every record carries.

A record's `hash` is sha256 over the canonical JSON of the record without "hash"; `prev_hash` is the hash
of the record before it (GENESIS_HASH for the first). Lines are written in canonical form too, so verify
can insist the bytes on disk are exactly what was hashed: a change JSON would parse the same way (say
`\\u001b` -> `\\u001B`) still counts as tampering.
"""

from __future__ import annotations

from typing import Any

from hitl_tui.canonical import canonical_bytes, hash_json, sha256_hex

GENESIS_HASH = "0" * 64

# Event types. CONTINUED is written by the log itself as the first record of a file that carries the chain
# on from a rotated (renamed away or emptied) file; see log.py.
EVENT_DECISION = "decision"
EVENT_REFUSED = "refused"
EVENT_OUTCOME = "outcome"
EVENT_AUTO_DECISION = "auto_decision"
EVENT_TIMEOUT = "timeout"
EVENT_CONTINUED = "log_continued"

# Outcomes of a resume, for EVENT_OUTCOME records.
OUTCOME_PAUSED_AGAIN = "paused_again"
OUTCOME_FINISHED = "finished"
OUTCOME_FAILED = "failed"
OUTCOME_IN_DOUBT = "in_doubt"

# Every record has all of these keys (null when not applicable) so readers never need .get() guesswork.
STANDARD_FIELDS: tuple[str, ...] = (
    "seq",
    "ts",
    "event",
    "event_id",
    "actor",
    "host",
    "thread_id",
    "checkpoint_id",
    "interrupt_id",
    "action",
    "payload_hash",
    "decision",
    "text",
    "args_hash",
    "outcome",
    "error",
    "decision_id",
    "prev_hash",
    "hash",
)
# Set by the log when appending; callers may not supply them.
RESERVED_FIELDS = frozenset({"seq", "ts", "prev_hash", "hash", "event_id"})


def record_hash(record: dict[str, Any]) -> str:
    """The hash a record must carry: over its canonical JSON without the "hash" key."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hash_json(body)


def seal(record: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """Return a copy of record chained onto prev_hash, with its own hash set."""
    sealed = dict(record)
    sealed.pop("hash", None)
    sealed["prev_hash"] = prev_hash
    sealed["hash"] = record_hash(sealed)
    return sealed


def seal_line(record: dict[str, Any], prev_hash: str) -> tuple[dict[str, Any], bytes]:
    """`seal(record, prev_hash)` and that record's line, encoding the record once instead of twice.

    Canonical JSON of a dict is its items in key order between braces, so the record without "hash" (what is
    hashed) and with it (the line) differ only by the one item spliced in at its place: the keys before "hash"
    and the keys after it are encoded once each and joined both ways. Raises like canonical_bytes."""
    sealed = dict(record)
    sealed.pop("hash", None)
    sealed["prev_hash"] = prev_hash
    if not all(type(k) is str for k in sealed):
        sealed["hash"] = record_hash(sealed)  # JSON would coerce such keys: keep to the one plain path
        return sealed, encode_line(sealed)
    before = _items(canonical_bytes({k: v for k, v in sealed.items() if k < "hash"}))
    after = _items(canonical_bytes({k: v for k, v in sealed.items() if k > "hash"}))
    digest = sha256_hex(b"{" + b",".join(p for p in (before, after) if p) + b"}")
    sealed["hash"] = digest
    middle = b'"hash":"' + digest.encode("ascii") + b'"'
    return sealed, b"{" + b",".join(p for p in (before, middle, after) if p) + b"}\n"


def _items(obj: bytes) -> bytes:
    """The items of an encoded object, without its braces."""
    return obj[1:-1]


def encode_line(record: dict[str, Any]) -> bytes:
    """The exact bytes of a record's line in the file, newline included."""
    return canonical_bytes(record) + b"\n"
