"""Appending to the audit log: a locked read-last-record + append + fsync per event, idempotent per event id.

Several consoles and workers append at once, so every append holds an exclusive flock on `<log>.lock` (a
sidecar, so the lock still means the same thing after the log is renamed away by rotation), opens the log
path afresh (to follow rotation), reads only its last line (seeking from the end), writes one line, fsyncs,
then moves the anchor. A decision committed to the DB may be logged by whoever reconciles after a crash,
so `append(..., event_id=...)` writes nothing when that event id is already in the file.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hitl_tui.audit.anchor import Anchor, anchor_path_for, read_anchor, write_anchor
from hitl_tui.audit.chain import (
    EVENT_CONTINUED,
    GENESIS_HASH,
    RESERVED_FIELDS,
    STANDARD_FIELDS,
    record_hash,
    seal_line,
)
from hitl_tui.audit.errors import AuditLogCorrupt, AuditLogUnwritable
from hitl_tui.audit.index import EventIndex, loads_record
from hitl_tui.clock import Clock, utc_now
from hitl_tui.identity import Operator, current_operator

_TAIL_CHUNK = 8192


def utc_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix and microseconds: 2025-01-02T03:04:05.123456Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")



@dataclass(frozen=True)
class _ChainEnd:
    """The last seq and hash to chain onto, the inode holding them, and a rotation marker to write first."""

    seq: int
    hash: str
    inode: int | None
    header: dict[str, Any] | None = None


class AuditLog:
    """An append-only, hash-chained JSON-lines audit log shared by many processes."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Clock | None = None,
        operator: Operator | None = None,
        durable: bool = True,
    ) -> None:
        """`operator` is the actor of records the log writes itself; `durable=False` skips fsync."""
        self.path = Path(path)
        self.lock_path = Path(str(self.path) + ".lock")
        self.anchor_path = anchor_path_for(self.path)
        self._clock = clock or utc_now
        self._operator = operator
        self._durable = durable
        self._mutex = threading.Lock()  # flock does not exclude threads sharing this object's state
        self._index = EventIndex()
        self._host = socket.gethostname()

    # -- public API -------------------------------------------------------------------------------------

    def append(self, fields: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """Write one record and return it; if event_id is already logged, return that record instead."""
        return self.append_many([(fields, event_id)])[0]

    def append_many(self, items: Sequence[tuple[Mapping[str, Any], str | None]]) -> list[dict[str, Any]]:
        """Append (fields, event_id) pairs in order under one lock, one write and one fsync.

        Same rules as append() for each pair; returns one record per pair (the existing one for a logged id).
        """
        prepared = []
        for fields, event_id in items:
            if event_id is not None and (not isinstance(event_id, str) or not event_id):
                raise ValueError("event_id must be a non-empty string")
            prepared.append((self._prepare(fields), event_id))
        if not prepared:
            return []
        with self._mutex, self._locked():
            fd = self._open_log()
            try:
                return self._append_locked(fd, os.fstat(fd), prepared)
            finally:
                os.close(fd)

    def find(self, event_id: str) -> dict[str, Any] | None:
        """The record with this event id in the current log file, or None."""
        if not self.path.exists():
            return None
        with self._mutex, self._locked():
            fd = self._open_log()
            try:
                return self._index.lookup(fd, os.fstat(fd), event_id)
            finally:
                os.close(fd)

    # -- locking and files ------------------------------------------------------------------------------

    def _ensure_parent(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditLogUnwritable(
                f"Cannot create the audit log's folder {self.path.parent}: {exc.strerror}."
            ) from exc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_parent()
        try:
            lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise AuditLogUnwritable(
                f"Cannot open the audit log's lock file {self.lock_path}: {exc.strerror}."
            ) from exc
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock_fd)  # closing the descriptor releases the flock

    def check_writable(self) -> None:
        """Raise AuditLogUnwritable (one sentence) unless the log and its lock file can be opened for writing now.
        Asked before a decision is recorded: no side effect may run while its trail can't be written."""
        with self._locked():  # creates the log's folder first, as an append would
            os.close(self._open_log())

    def _open_log(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise AuditLogUnwritable(f"Cannot open the audit log {self.path}: {exc.strerror}.") from exc

    # -- building records -------------------------------------------------------------------------------

    def _prepare(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        reserved = RESERVED_FIELDS.intersection(fields)
        if reserved:
            raise ValueError(f"audit fields {sorted(reserved)} are set by the log, not by the caller")
        event = fields.get("event")
        if not isinstance(event, str) or not event:
            raise ValueError("an audit record needs an 'event' name")
        body: dict[str, Any] = {name: None for name in STANDARD_FIELDS if name not in RESERVED_FIELDS}
        body.update(fields)
        actor = body.get("actor")
        if isinstance(actor, Operator):
            body["actor"] = actor.as_record()
        if body.get("host") is None:
            actor_host = body["actor"].get("host") if isinstance(body.get("actor"), dict) else None
            body["host"] = actor_host or self._host
        return body  # checked as it is sealed (one encoding per record)

    def _chain_end(self, fd: int, st: os.stat_result) -> _ChainEnd:
        """Where the open file ends, checked against the anchor, plus a rotation marker if one is due."""
        anchor = read_anchor(self.anchor_path)
        line = _read_last_line(fd, st.st_size, self.path)
        if line is None:
            if anchor is None or anchor.seq == 0:
                return _ChainEnd(0, GENESIS_HASH, st.st_ino)
            # An empty or new file while the anchor remembers records: the log was rotated (renamed away
            # or emptied by copytruncate). Carry the chain on and say so in the log itself.
            how = "emptied in place" if anchor.inode == st.st_ino else "renamed away or removed"
            text = f"the previous log file was {how} after seq {anchor.seq}; the chain continues here"
            if anchor.pending_seq is not None:
                text += f" (an append of seq {anchor.pending_seq} was interrupted and may be in that file)"
            header = {
                "event": EVENT_CONTINUED,
                "text": text,
                "continues_seq": anchor.seq,
                "continues_hash": anchor.hash,
                "actor": (self._operator or current_operator()).as_record(),
            }
            return _ChainEnd(anchor.seq, anchor.hash, anchor.inode, header)
        last = _parse_last(line, self.path)
        if anchor is not None:
            problem = anchor.problem_with_end(last["seq"], last["hash"])
            if problem is not None:
                raise AuditLogCorrupt(
                    f"The audit log {self.path} disagrees with its anchor ({problem}); "
                    "run `hitl-tui audit verify`."
                )
        return _ChainEnd(last["seq"], last["hash"], st.st_ino)

    def _append_locked(
        self, fd: int, st: os.stat_result, items: list[tuple[dict[str, Any], str | None]]
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any] | None] = [None] * len(items)
        first_slot: dict[str, int] = {}  # event id -> the slot that owns it (a repeat in the batch copies it)
        new: list[tuple[int, dict[str, Any], str]] = []
        logged = self._index.lookup_many(fd, st, [event_id for _, event_id in items if event_id is not None])
        for slot, (body, event_id) in enumerate(items):
            if event_id is not None:
                if event_id in first_slot:
                    continue
                first_slot[event_id] = slot
                results[slot] = logged.get(event_id)
                if results[slot] is not None:
                    continue
            else:
                event_id = uuid.uuid4().hex
            new.append((slot, body, event_id))
        if not new:
            return self._fill_repeats(items, results, first_slot)

        end = self._chain_end(fd, st)
        seq, prev_hash = end.seq, end.hash
        if end.header is not None:
            new.insert(0, (-1, self._prepare(end.header), uuid.uuid4().hex))
        written: list[dict[str, Any]] = []
        lines: list[bytes] = []
        for slot, body, event_id in new:
            full = dict(body)
            full.update(seq=seq + 1, ts=utc_timestamp(self._clock()), event_id=event_id)
            record, line = _seal_checked(full, prev_hash)
            written.append(record)
            lines.append(line)
            seq, prev_hash = record["seq"], record["hash"]
            if slot >= 0:
                results[slot] = record
        last = written[-1]
        # Phase 1: the anchor announces the records before they exist (durably), so a crash anywhere
        # leaves an ending verify can tell apart from lines cut off or added by hand.
        write_anchor(
            self.anchor_path,
            Anchor(end.seq, end.hash, end.inode, pending_seq=last["seq"], pending_hash=last["hash"]),
            durable=self._durable,
        )
        self._write(fd, st.st_size, b"".join(lines))
        if st.st_size == 0 and self._durable:
            _fsync_dir(self.path.parent)  # a new file's directory entry must survive a crash too
        self._index.note_written(st, lines, written)
        # Phase 2: no fsync needed; if this is lost the phase-1 anchor still accepts the records. A failure
        # here must not report the append as failed: the records are durably in the log already.
        with suppress(AuditLogUnwritable):
            write_anchor(self.anchor_path, Anchor(last["seq"], last["hash"], st.st_ino), durable=False)
        return self._fill_repeats(items, results, first_slot)

    @staticmethod
    def _fill_repeats(
        items: list[tuple[dict[str, Any], str | None]],
        results: list[dict[str, Any] | None],
        first_slot: dict[str, int],
    ) -> list[dict[str, Any]]:
        out = []
        for slot, (_, event_id) in enumerate(items):
            record = results[slot]
            if record is None and event_id is not None:
                record = results[first_slot[event_id]]
            assert record is not None
            out.append(record)
        return out

    def _write(self, fd: int, size_before: int, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self._durable:
                os.fsync(fd)
        except OSError as exc:
            # Don't leave half a line behind (disk full): it would block every later append.
            with suppress(OSError):
                os.ftruncate(fd, size_before)
            raise AuditLogUnwritable(f"Cannot write to the audit log {self.path}: {exc.strerror}.") from exc


def iter_records(path: Path | str) -> Iterator[dict[str, Any]]:
    """Every complete, parseable record in a log file, in order (no verification; see verify())."""
    with open(path, "rb") as fh:
        for line in fh:
            if line.endswith(b"\n"):
                record = loads_record(line)
                if record is not None:
                    yield record


# -- helpers on raw file descriptors --------------------------------------------------------------------


def _seal_checked(record: dict[str, Any], prev_hash: str) -> tuple[dict[str, Any], bytes]:
    try:
        return seal_line(record, prev_hash)
    except UnicodeEncodeError:
        # Lone surrogates (from undecodable agent text) can't be UTF-8: store U+FFFD instead.
        return seal_line(_scrub(record), prev_hash)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit record fields must be plain JSON values: {exc}") from exc


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _fsync_dir(path: Path) -> None:
    try:
        dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _read_last_line(fd: int, size: int, path: Path) -> bytes | None:
    """The last complete line (without its newline), reading backwards from the end; None if empty."""
    if size == 0:
        return None
    if os.pread(fd, 1, size - 1) != b"\n":
        raise AuditLogCorrupt(
            f"The audit log {path} ends in a partial line (a write was cut short or the file was "
            "truncated); run `hitl-tui audit verify` and repair it before logging more."
        )
    end = size - 1
    parts: list[bytes] = []
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            parts.append(chunk[nl + 1 :])
            break
        parts.append(chunk)
        end = start
    return b"".join(reversed(parts))


def _parse_last(line: bytes, path: Path) -> dict[str, Any]:
    record = loads_record(line)
    try:
        sealed = record is not None and record_hash(record) == record.get("hash")
    except ValueError:  # NaN or an unpaired surrogate: not something AuditLog writes
        sealed = False
    if record is None or not sealed or type(record.get("seq")) is not int:
        raise AuditLogCorrupt(
            f"The last line of the audit log {path} is damaged (not a valid sealed record); "
            "run `hitl-tui audit verify`."
        )
    return record
