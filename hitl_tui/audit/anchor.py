"""The anchor (`<log>.head`): the last sequence number and hash written, kept beside the log.

A hash chain alone cannot show that whole lines were cut off its end; the anchor can. It is replaced
atomically (write a temporary file, then rename) under the append lock, after the log line is fsynced,
so after a crash it can lag the log by one record but never run ahead of it.
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
    """Where the chain stood after the last append: seq, hash, and the log file's inode."""

    seq: int
    hash: str
    inode: int | None = None


def anchor_path_for(log_path: Path) -> Path:
    """`decisions.jsonl` -> `decisions.jsonl.head`; not renamed by rotation, so it outlives it."""
    return Path(str(log_path) + ".head")


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
        seq, digest = data["seq"], data["hash"]
        inode = data.get("inode")
        if not isinstance(seq, int) or not isinstance(digest, str) or len(digest) != 64:
            raise ValueError("bad types")
        if inode is not None and not isinstance(inode, int):
            raise ValueError("bad inode")
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditLogCorrupt(f"The audit anchor {path} is damaged (not a valid anchor record).") from exc
    return Anchor(seq=seq, hash=digest, inode=inode)


def write_anchor(path: Path, anchor: Anchor, *, durable: bool = True) -> None:
    """Atomically replace the anchor; callers hold the append lock."""
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}.{threading.get_ident()}")
    body = json.dumps({"seq": anchor.seq, "hash": anchor.hash, "inode": anchor.inode}).encode() + b"\n"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            os.write(fd, body)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise AuditLogUnwritable(f"Cannot write the audit anchor {path}: {exc.strerror}.") from exc
