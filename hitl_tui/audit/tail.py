"""Following the audit log for the console's audit pane (no Textual here: the UI polls `read_new()`).

Unlike a naive tailer this survives the log being rotated while it reads: a rename is noticed by the
path's inode changing, the old file is finished through the descriptor still open on it (holding the
writers' lock shared, so no append to the old file is still in flight), then the new path is followed.
Truncation (size below our offset, or the bytes just before it changed) starts over from the top. A poll
that finds nothing new costs one stat().
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path
from typing import Any

UNPARSEABLE = "unparseable"
_CHECK_BYTES = 64
_READ_CHUNK = 1 << 20
_RAW_LIMIT = 2000


class AuditTail:
    """Returns the records appended to an audit log since the previous call, each exactly once."""

    def __init__(self, path: Path | str, *, backlog: int | None = None) -> None:
        """`backlog`: on first open, start with only the last N lines (None = the whole file)."""
        self.path = Path(path)
        self.lock_path = Path(str(self.path) + ".lock")
        self.backlog = backlog
        self.restarts = 0  # how often the file shrank or was rewritten and reading started over
        self.error: str | None = None  # one sentence when the log exists but cannot be opened
        self._fd: int | None = None
        self._key: tuple[int, int] | None = None
        self._offset = 0  # bytes of the current file consumed (complete lines + self._buffer)
        self._buffer = b""  # a partial last line, waiting for its newline
        self._check = b""  # the bytes just before _offset, to notice a rewrite of the same size
        self._first_open = True

    def close(self) -> None:
        """Release the open file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AuditTail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_new(self) -> list[dict[str, Any]]:
        """Records appended since the last call; damaged lines come back as {"event": "unparseable", ...}."""
        try:
            return self._read_new()
        except OSError as exc:  # an I/O error mid-read: report it in one sentence instead of raising
            self.error = f"Cannot read the audit log {self.path}: {exc.strerror}."
            return []

    def _read_new(self) -> list[dict[str, Any]]:
        try:
            st: os.stat_result | None = os.stat(self.path)
        except OSError:
            st = None
        if self._fd is None:
            if st is None or not self._open():
                return []
            return self._read_current()
        if st is not None and (st.st_dev, st.st_ino) == self._key:
            if st.st_size == self._offset:
                return []  # the common case: nothing happened
            return self._read_current()
        # The path is gone or is another file: rotation. Finish the old file, then switch.
        items = self._drain_rotated(final=st is not None)
        if st is not None:
            self.close()
            if self._open():
                items.extend(self._read_current())
        return items

    # -- internals --------------------------------------------------------------------------------------

    def _open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self.error = None  # not created yet: nothing to show, nothing wrong
            return False
        except OSError as exc:
            self.error = f"Cannot read the audit log {self.path}: {exc.strerror}."
            return False
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self.error = f"The audit log {self.path} is not a regular file."
            return False
        self.error = None
        self._fd, self._key = fd, (st.st_dev, st.st_ino)
        self._offset, self._buffer, self._check = 0, b"", b""
        if self._first_open and self.backlog is not None:
            self._offset = _start_of_last_lines(fd, st.st_size, self.backlog)
            keep = min(_CHECK_BYTES, self._offset)
            self._check = os.pread(fd, keep, self._offset - keep)
        self._first_open = False
        return True

    def _drain_rotated(self, *, final: bool) -> list[dict[str, Any]]:
        lock_fd: int | None
        try:
            lock_fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            lock_fd = None  # no lock file (or no access): drain without waiting for writers
        try:
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_SH)
            items = self._read_current()
            if final and self._buffer:
                start = self._offset - len(self._buffer)
                items.append(_unparseable(self._buffer, start, "partial last line"))
                self._buffer = b""
            return items
        finally:
            if lock_fd is not None:
                os.close(lock_fd)

    def _read_current(self) -> list[dict[str, Any]]:
        fd = self._fd
        assert fd is not None
        size = os.fstat(fd).st_size
        if size < self._offset or not self._prefix_unchanged(fd):
            self.restarts += 1
            self._offset, self._buffer, self._check = 0, b"", b""
        items: list[dict[str, Any]] = []
        while self._offset < size:
            chunk = os.pread(fd, min(_READ_CHUNK, size - self._offset), self._offset)
            if not chunk:
                break
            line_start = self._offset - len(self._buffer)
            self._offset += len(chunk)
            self._check = (self._check + chunk)[-_CHECK_BYTES:]
            data = self._buffer + chunk
            start = 0
            while True:
                nl = data.find(b"\n", start)
                if nl < 0:
                    break
                items.append(_parse(data[start:nl], line_start + start))
                start = nl + 1
            self._buffer = data[start:]
        return items

    def _prefix_unchanged(self, fd: int) -> bool:
        if not self._check:
            return True
        return os.pread(fd, len(self._check), self._offset - len(self._check)) == self._check


def _parse(line: bytes, offset: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return _unparseable(line, offset, "not valid JSON")
    if not isinstance(value, dict):
        return _unparseable(line, offset, "not a JSON object")
    return value


def _unparseable(line: bytes, offset: int, why: str) -> dict[str, Any]:
    raw = line[:_RAW_LIMIT].decode("utf-8", "replace")
    return {"event": UNPARSEABLE, "raw": raw, "error": why, "offset": offset}


def _start_of_last_lines(fd: int, size: int, count: int) -> int:
    """Offset where the last `count` complete lines begin (0 when the file has fewer)."""
    if count <= 0:
        return size
    seen = 0
    # The file's final newline ends the last line; each further newline found going back starts a line.
    end = size - 1 if size and os.pread(fd, 1, size - 1) == b"\n" else size
    pos = end
    while pos > 0:
        start = max(0, pos - 8192)
        chunk = os.pread(fd, pos - start, start)
        idx = len(chunk)
        while True:
            idx = chunk.rfind(b"\n", 0, idx)
            if idx < 0:
                break
            seen += 1
            if seen == count:
                return start + idx + 1
        pos = start
    return 0


def _field(value: Any) -> str:
    return "-" if value is None else str(value)


def format_record(rec: dict[str, Any]) -> str:
    """One plain-text line for the audit pane: seq, time, who, event, decision, thread, action, outcome."""
    if rec.get("event") == UNPARSEABLE:
        raw = str(rec.get("raw", ""))[:200]
        return f"?? unparseable line at byte {rec.get('offset')}: {rec.get('error')}: {raw}"
    ts = str(rec.get("ts") or "")
    if len(ts) >= 19:
        ts = ts[:10] + " " + ts[11:19] + "Z"  # seconds are enough on screen
    actor = rec.get("actor")
    if isinstance(actor, dict):
        who = f"{actor.get('user', '?')}@{actor.get('host') or rec.get('host') or '?'}"
    else:
        who = f"?@{rec.get('host') or '?'}"
    parts = [f"#{_field(rec.get('seq'))}", ts or "-", who, _field(rec.get("event"))]
    if rec.get("decision") is not None:
        parts.append(str(rec["decision"]))
    for key in ("thread_id", "action", "outcome"):
        if rec.get(key) is not None:
            parts.append(f"{key.removesuffix('_id')}={rec[key]}")
    if rec.get("text"):
        text = str(rec["text"])
        parts.append(repr(text if len(text) <= 80 else text[:79] + "…"))
    if rec.get("error"):
        parts.append(f"error={rec['error']}")
    return " ".join(parts)
