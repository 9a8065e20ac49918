"""Canonical JSON and hashes, so that every process computes the same hash for the same data.

Two forms, defined here once: `canonical_json` (text; anything an agent sent is hashed, non-JSON values by a
stable fallback) for payload and argument hashes, and `canonical_bytes` (strict JSON, no NaN, UTF-8) for the
audit log's hash chain, whose lines must be exactly the bytes that were hashed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray):
        return obj.hex()
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    return repr(obj)


# One encoder built once: json.dumps builds a new one per call, a third of the cost of hashing every listed interrupt.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)
_STRICT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the form every hash here is taken over."""
    return _ENCODER.encode(value)


def canonical_bytes(value: Any) -> bytes:
    """The one byte form of a JSON value the audit chain hashes (sorted keys, no spaces, UTF-8); raises on
    anything that is not plain JSON (NaN, sets, bytes), as a log record must be."""
    return _STRICT.encode(value).encode("utf-8")


def sha256_hex(data: bytes | str) -> str:
    """Lower-case hex sha256 of bytes, or of text as UTF-8 (lone surrogates kept, as the agent sent them)."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


def hash_json(value: Any) -> str:
    """sha256 of a value's strict canonical bytes (the audit log's `args_hash`, record hashes)."""
    return sha256_hex(canonical_bytes(value))


def value_hash(value: Any) -> str:
    """The hash of a decoded payload as an operator saw it."""
    return sha256_hex(canonical_json(value))
