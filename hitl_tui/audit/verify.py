"""Checking an audit log: every line sealed, chained, numbered in order, and matching its anchor.

The first problem found is reported as one sentence naming the line, e.g. "line 7: hash does not match
its content". Lines must also be byte-for-byte in the canonical form they were written in, so an edit
that parses to the same JSON (a changed escape, a duplicated key) is caught too.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hitl_tui.audit.anchor import Anchor, anchor_path_for, read_anchor
from hitl_tui.audit.chain import EVENT_CONTINUED, GENESIS_HASH, record_hash
from hitl_tui.audit.errors import AuditLogCorrupt, AuditLogMissing
from hitl_tui.canonical import canonical_bytes, sha256_hex


@dataclass(frozen=True)
class VerifyReport:
    """What verify() found. `records` counts the records that checked out before the first problem."""

    path: str
    ok: bool
    records: int
    first_bad_line: int | None = None
    reason: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    anchor_seq: int | None = None
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for `audit verify --json`."""
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data


class _Bad(Exception):
    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _valid_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64


def verify(path: Path | str) -> VerifyReport:
    """Check the log at path; raises AuditLogMissing when it is missing or unreadable."""
    path = Path(path)
    anchor_file = anchor_path_for(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the snapshot
    except FileNotFoundError as exc:
        hint = ""
        if anchor_file.exists():
            hint = " (its anchor is still there, so it was rotated or deleted)"
        raise AuditLogMissing(f"The audit log {path} does not exist{hint}.") from exc
    except OSError as exc:
        raise AuditLogMissing(f"The audit log {path} cannot be read: {exc.strerror}.") from exc
    with fh:
        try:
            # Anchor and size must be read together: a live log grows while we check it.
            with _shared_lock(Path(str(path) + ".lock")):
                size = os.fstat(fh.fileno()).st_size
                anchor = read_anchor(anchor_file)
        except AuditLogCorrupt as exc:
            return _Walk(None).report(path, _Bad(None, exc.message))
        try:
            return _verify_lines(_lines_upto(fh, size), anchor, path)
        except OSError as exc:
            raise AuditLogMissing(f"The audit log {path} cannot be read: {exc.strerror}.") from exc


def verify_data(data: bytes, anchor: Anchor | None = None, name: str = "<data>") -> VerifyReport:
    """Check a log held in memory (e.g. a copy), against an anchor if given."""
    return _verify_lines(iter(data.splitlines(keepends=True)), anchor, name)


def _verify_lines(lines: Iterator[bytes], anchor: Anchor | None, name: Path | str) -> VerifyReport:
    state = _Walk(anchor)
    try:
        for lineno, line in enumerate(lines, start=1):
            state.check_line(lineno, line)
        state.check_anchor()
    except _Bad as bad:
        return state.report(name, bad)
    return state.report(name, None)


@contextmanager
def _shared_lock(lock_path: Path) -> Iterator[None]:
    """Hold the writers' lock shared, if there is one we may open (a copied log has none)."""
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _lines_upto(fh: BinaryIO, size: int) -> Iterator[bytes]:
    """The file's lines within its first `size` bytes (appends after the snapshot are not checked)."""
    remaining = size
    while remaining > 0:
        line = fh.readline(remaining)
        if not line:
            return
        remaining -= len(line)
        yield line


def _content_hash(full: bytes, digest: str) -> str:
    """sha256 of the canonical record without "hash", cut out of its canonical form (no second encode).

    Sound because the line is canonical: sorted keys and compact separators mean removing the
    top-level `"hash":"..."` member gives exactly canonical_bytes(record without hash).
    """
    member = b'"hash":"' + digest.encode() + b'"'
    i = full.find(member + b",")
    if i >= 0:
        return sha256_hex(full[:i] + full[i + len(member) + 1 :])
    if full.endswith(b"," + member + b"}"):
        return sha256_hex(full[: -len(member) - 2] + b"}")
    return sha256_hex(b"{}") if full == b"{" + member + b"}" else ""


def _safe_record_hash(record: dict[str, Any]) -> str | None:
    try:
        return record_hash(record)
    except ValueError:
        return None


class _Walk:
    """The running state of one pass over the file."""

    def __init__(self, anchor: Anchor | None) -> None:
        self.anchor = anchor
        self.count = 0
        self.lines = 0
        self.first_seq: int | None = None
        self.last_seq: int | None = None
        self.last_hash: str | None = None
        self.first_line_past: int | None = None  # first line beyond every ending the anchor allows
        self.event_ids: dict[str, int] = {}
        self.notes: list[str] = []

    def check_line(self, lineno: int, line: bytes) -> None:
        self.lines = lineno
        if not line.endswith(b"\n"):
            raise _Bad(lineno, f"line {lineno}: file ends in a partial line (cut short or truncated)")
        try:
            record = json.loads(line)
        except ValueError:
            raise _Bad(lineno, f"line {lineno}: is not a valid UTF-8 JSON record") from None
        if not isinstance(record, dict):
            raise _Bad(lineno, f"line {lineno}: is not a JSON object")
        seq, prev_hash, digest = record.get("seq"), record.get("prev_hash"), record.get("hash")
        if type(seq) is not int or not _valid_hash(prev_hash) or not _valid_hash(digest):
            raise _Bad(lineno, f"line {lineno}: lacks a valid seq, prev_hash or hash")
        try:
            full = canonical_bytes(record)
        except ValueError:  # NaN, or an unpaired surrogate escape: never written by AuditLog
            full = b""
        if full + b"\n" != line:
            if _safe_record_hash(record) != digest:
                raise _Bad(lineno, f"line {lineno}: hash does not match its content")
            raise _Bad(lineno, f"line {lineno}: is not byte for byte the form it was written in (edited)")
        if _content_hash(full, str(digest)) != digest:
            raise _Bad(lineno, f"line {lineno}: hash does not match its content")
        if lineno == 1:
            self._check_start(record)
        else:
            assert self.last_seq is not None
            expected = self.last_seq + 1
            if seq != expected:
                raise _Bad(lineno, f"line {lineno}: sequence number {seq} where {expected} was expected")
            if prev_hash != self.last_hash:
                raise _Bad(lineno, f"line {lineno}: prev_hash does not match line {lineno - 1}")
        event_id = record.get("event_id")
        if isinstance(event_id, str):
            earlier = self.event_ids.setdefault(event_id, lineno)
            if earlier != lineno:
                raise _Bad(lineno, f"line {lineno}: event id {event_id!r} was already used on line {earlier}")
        if self.anchor is not None:
            if seq == self.anchor.seq and digest != self.anchor.hash:
                raise _Bad(lineno, f"line {lineno}: hash differs from the anchor's for seq {seq}")
            if self.first_line_past is None and seq > max(self.anchor.endings()):
                self.first_line_past = lineno
        if self.first_seq is None:
            self.first_seq = seq
        self.last_seq, self.last_hash = seq, digest
        self.count += 1

    def _check_start(self, record: dict[str, Any]) -> None:
        seq, prev_hash = record["seq"], record["prev_hash"]
        if seq == 1 and prev_hash == GENESIS_HASH:
            return
        continues_seq = record.get("continues_seq")
        if (
            record.get("event") == EVENT_CONTINUED
            and type(continues_seq) is int
            and seq == continues_seq + 1
            and prev_hash == record.get("continues_hash")
        ):
            self.notes.append(
                f"line 1: continues a chain that ended at seq {continues_seq} in an earlier (rotated) file"
            )
            return
        raise _Bad(1, f"line 1: the chain does not start here (seq {seq}); earlier records were removed")

    def check_anchor(self) -> None:
        anchor = self.anchor
        if anchor is None:
            if self.count:
                self.notes.append("no anchor file, so lines cut off the end could not be checked")
            return
        if self.last_seq is None and anchor.seq > 0:
            raise _Bad(1, f"the log is empty but its anchor says seq {anchor.seq}")
        last_seq = self.last_seq or 0
        problem = anchor.problem_with_end(last_seq, self.last_hash or GENESIS_HASH)
        if problem is not None:
            if last_seq < anchor.seq:
                line = self.lines + 1
            elif self.first_line_past is not None:
                line = self.first_line_past
            else:
                line = self.lines
            raise _Bad(line, problem)
        note = anchor.crash_note(last_seq)
        if note:
            self.notes.append(note)

    def report(self, path: Path | str, bad: _Bad | None) -> VerifyReport:
        return VerifyReport(
            path=str(path),
            ok=bad is None,
            records=self.count,
            first_bad_line=bad.line if bad else None,
            reason=bad.reason if bad else None,
            first_seq=self.first_seq,
            last_seq=self.last_seq,
            last_hash=self.last_hash,
            anchor_seq=self.anchor.seq if self.anchor else None,
            notes=tuple(self.notes),
        )
