"""The anchor (`<log>.head`): where the chain ends, kept beside the log so cutting lines off its end shows.

A hash chain alone cannot reveal that whole trailing lines were removed, nor that one well-formed record
was added at the end. The anchor can, because every append moves it in two phases under the append lock:

1. before the line is written: {seq, hash} of the current last record plus {pending_seq, pending_hash} of
   the record about to be written (fsynced, then renamed into place);
2. after the line is fsynced: {seq, hash} of the new last record, nothing pending.

So after a crash at any point the log ends at `seq` or at `pending_seq` with the recorded hash (or, for a
batch cut short, in between); any other ending means the file was cut or extended by someone else.
Each phase replaces the file atomically (temporary file + rename).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from hitl_tui.audit.errors import AuditLogCorrupt, AuditLogUnwritable


@dataclass(frozen=True)
class Anchor:
    """The chain's end as last recorded: seq 0 means an empty log (hash is then the genesis hash)."""

    seq: int
    hash: str
    inode: int | None = None  # of the log file holding `seq`; tells rotation by rename from emptying
    pending_seq: int | None = None
    pending_hash: str | None = None

    def endings(self) -> dict[int, str]:
        """The (seq -> hash) pairs the anchor knows; a pending append may also stop anywhere in between."""
        ends = {self.seq: self.hash}
        if self.pending_seq is not None and self.pending_hash is not None:
            ends[self.pending_seq] = self.pending_hash
        return ends

    def problem_with_end(self, last_seq: int, last_hash: str) -> str | None:
        """None when a log ending at (last_seq, last_hash) agrees with the anchor, else why not."""
        ends = self.endings()
        if last_seq in ends:
            if ends[last_seq] == last_hash:
                return None
            return f"the record with seq {last_seq} differs from the one the anchor recorded"
        if self.pending_seq is not None and self.seq < last_seq < self.pending_seq:
            return None  # a batch cut short by a crash: the chain itself vouches for what was written
        if last_seq < self.seq:
            return f"the log ends at seq {last_seq} but its anchor says {self.seq}"
        return f"the log ends at seq {last_seq}, past the seq {max(ends)} its anchor recorded"

    def crash_note(self, last_seq: int) -> str | None:
        """Say so when the log ends the way an interrupted append leaves it."""
        if self.pending_seq is None:
            return None
        first = self.seq + 1
        span = f"seq {first}" if first == self.pending_seq else f"seq {first}-{self.pending_seq}"
        if last_seq == self.seq:
            return f"an append of {span} was interrupted before its record was written"
        if last_seq == self.pending_seq:
            return f"an append of {span} was interrupted after its record was written"
        return f"an append of {span} was interrupted after writing up to seq {last_seq}"


def anchor_path_for(log_path: Path) -> Path:
    """`decisions.jsonl` -> `decisions.jsonl.head` (rotation renames only the log)."""
    return Path(str(log_path) + ".head")


def _is_hash(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64


def read_anchor(path: Path) -> Anchor | None:
    """The anchor at path, None when there is none; AuditLogCorrupt when it exists but is unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditLogCorrupt(f"The audit anchor {path} cannot be read: {exc.strerror}.") from exc
    try:
        data = json.loads(raw)
        anchor = Anchor(
            seq=data["seq"],
            hash=data["hash"],
            inode=data.get("inode"),
            pending_seq=data.get("pending_seq"),
            pending_hash=data.get("pending_hash"),
        )
        valid = (
            type(anchor.seq) is int
            and _is_hash(anchor.hash)
            and (anchor.inode is None or type(anchor.inode) is int)
            and (anchor.pending_seq is None) == (anchor.pending_hash is None)
            and (anchor.pending_seq is None or type(anchor.pending_seq) is int)
            and (anchor.pending_hash is None or _is_hash(anchor.pending_hash))
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise AuditLogCorrupt(f"The audit anchor {path} is damaged (not a valid anchor record).")
    return anchor


def write_anchor(path: Path, anchor: Anchor, *, durable: bool = True) -> None:
    """Atomically replace the anchor; callers hold the append lock."""
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}.{threading.get_ident()}")
    body = {
        "seq": anchor.seq,
        "hash": anchor.hash,
        "inode": anchor.inode,
        "pending_seq": anchor.pending_seq,
        "pending_hash": anchor.pending_hash,
    }
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            os.write(fd, json.dumps(body).encode() + b"\n")
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise AuditLogUnwritable(f"Cannot write the audit anchor {path}: {exc.strerror}.") from exc
