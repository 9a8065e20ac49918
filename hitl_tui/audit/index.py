"""Which event ids a log file already holds, kept up to date incrementally across appends.

`append(..., event_id=...)` must not write an event twice, even when another process wrote it. Re-reading
the whole file per append would make appends O(file); instead each AuditLog keeps, for the file it last
saw (device + inode), the offset it has indexed up to and scans only the bytes appended since. Callers
hold the append lock, so the file cannot grow during a scan.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

_SCAN_CHUNK = 1 << 20
_LINE_CHUNK = 8192


def loads_record(line: bytes) -> dict[str, Any] | None:
    """The JSON object on a line, or None when the line is not one."""
    try:
        value = json.loads(line)
    except ValueError:  # includes UnicodeDecodeError
        return None
    return value if isinstance(value, dict) else None


@dataclass
class _FileIndex:
    key: tuple[int, int]  # (st_dev, st_ino)
    offset: int = 0  # complete lines before this offset are indexed
    ids: dict[str, int] = field(default_factory=dict)  # event_id -> offset of its line
    last_line: bytes = b""  # the line ending at `offset`, to notice the file was rewritten under us


class EventIndex:
    """Event id -> record lookups for the log file open on a descriptor."""

    def __init__(self) -> None:
        self._file: _FileIndex | None = None

    def lookup(self, fd: int, st: os.stat_result, event_id: str) -> dict[str, Any] | None:
        """The record with event_id in the file open on fd (stat st), or None."""
        idx = self._current(fd, st)
        record = self._record(fd, idx, event_id)
        if record is None and event_id in idx.ids:
            # The file changed under the index in a way size and inode did not reveal: start over.
            self._file = None
            record = self._record(fd, self._current(fd, st), event_id)
        return record

    def lookup_many(self, fd: int, st: os.stat_result, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The records among event_ids already in the file (a batch's ids: the file is brought up to date once)."""
        idx = self._current(fd, st)
        if not any(event_id in idx.ids for event_id in event_ids):
            return {}  # the usual case for new events: no line to read back
        found = {}
        for event_id in event_ids:
            record = self.lookup(fd, st, event_id)
            if record is not None:
                found[event_id] = record
        return found

    def note_written(self, st: os.stat_result, lines: list[bytes], records: list[dict[str, Any]]) -> None:
        """Add lines just appended at st.st_size, if the index had reached that point."""
        idx = self._file
        if idx is None or idx.key != (st.st_dev, st.st_ino) or idx.offset != st.st_size:
            return  # the index is behind anyway; the next scan picks these lines up
        offset = st.st_size
        for line, record in zip(lines, records, strict=True):
            idx.ids.setdefault(record["event_id"], offset)
            offset += len(line)
        idx.offset = offset
        idx.last_line = lines[-1]

    def _current(self, fd: int, st: os.stat_result) -> _FileIndex:
        key = (st.st_dev, st.st_ino)
        idx = self._file
        if idx is None or idx.key != key or st.st_size < idx.offset or not _still_there(fd, idx):
            idx = _FileIndex(key=key)
            self._file = idx
        _scan(fd, idx, st.st_size)
        return idx

    @staticmethod
    def _record(fd: int, idx: _FileIndex, event_id: str) -> dict[str, Any] | None:
        offset = idx.ids.get(event_id)
        if offset is None:
            return None
        record = loads_record(_read_line_at(fd, offset))
        return record if record is not None and record.get("event_id") == event_id else None


def _read_line_at(fd: int, offset: int) -> bytes:
    parts: list[bytes] = []
    while True:
        chunk = os.pread(fd, _LINE_CHUNK, offset)
        if not chunk:
            break
        nl = chunk.find(b"\n")
        if nl >= 0:
            parts.append(chunk[:nl])
            break
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


def _still_there(fd: int, idx: _FileIndex) -> bool:
    """Whether the line the index ended on is still where it was."""
    if not idx.last_line:
        return idx.offset == 0
    start = idx.offset - len(idx.last_line)
    return os.pread(fd, len(idx.last_line), start) == idx.last_line


def _scan(fd: int, idx: _FileIndex, size: int) -> None:
    """Index the complete lines between idx.offset and size."""
    pos = idx.offset
    carry = b""
    carry_start = pos
    last_line = idx.last_line
    while pos < size:
        chunk = os.pread(fd, min(_SCAN_CHUNK, size - pos), pos)
        if not chunk:
            break
        pos += len(chunk)
        data = carry + chunk
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            line = data[start : nl + 1]
            record = loads_record(line)
            event_id = record.get("event_id") if record else None
            if isinstance(event_id, str):
                idx.ids.setdefault(event_id, carry_start + start)
            last_line = line
            start = nl + 1
        carry_start += start
        carry = data[start:]
    idx.offset = carry_start
    idx.last_line = last_line
