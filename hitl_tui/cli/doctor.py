"""`hitl-tui doctor`: can the current user read and decide on this DB, and append to its audit log?

Several operators on one host share one DB, its -wal/-shm files, the audit log and its anchor. Each must be able
to read and write every one of them, and every file any of them creates (SQLite creates -wal and -shm on demand,
the audit log replaces its anchor by rename) must stay usable by the others: a shared group, setgid folders,
group-writable files and a umask that keeps them so. The doctor checks each of these for the user running it and
says what to fix. It reads permissions with stat/access (never opening the DB's files itself: only SQLite does,
see RELIABILITY promise 9) and proves the DB writable with SQLite taking, then dropping, its write lock.

Root passes every permission check (the kernel lets it), so run the doctor as each operator.
"""

from __future__ import annotations

import grp
import os
import pwd
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from hitl_tui.config import Config, load_config
from hitl_tui.errors import ExitCode, HitlError

Level = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True)
class Finding:
    level: Level
    subject: str  # config | db | db-folder | wal | shm | audit | audit-folder | anchor | umask | user
    message: str
    fix: str | None = None


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def current_umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class Doctor:
    """The checks, for the user running this process."""

    def __init__(self) -> None:
        self.uid = os.getuid()
        self.groups = {os.getgid(), *os.getgroups()}

    def _describe(self, st: os.stat_result) -> str:
        return f"owner {_user(st.st_uid)}, group {_group(st.st_gid)}, mode {stat.filemode(st.st_mode)}"

    def _shared(self, path: Path, st: os.stat_result, subject: str, *, folder: bool = False) -> Iterator[Finding]:
        """Warnings for a file or folder other operators could not use, or whose new files they could not."""
        group = _group(st.st_gid)
        if not st.st_mode & stat.S_IWGRP:
            mode = "g+rwxs" if folder else "g+rw"
            yield Finding("warn", subject, f"{path} is not group-writable ({self._describe(st)}): only its owner "
                          "can write it.", f"chgrp <team-group> {path} && chmod {mode} {path}")
        elif folder and not st.st_mode & stat.S_ISGID:
            yield Finding("warn", subject, f"{path} has no setgid bit: files created in it get their creator's "
                          f"own group instead of {group}, and other operators can't write them.",
                          f"chmod g+s {path}")

    def access(self, path: Path, subject: str, mode: int, needed: str, fix: str, *, shared: bool = True
               ) -> Iterator[Finding]:
        """A FAIL unless the current user has `mode` access to an existing path; then, when every operator must
        write it (`shared`), warnings where they couldn't."""
        st = path.stat()
        if not os.access(path, mode):
            yield Finding("FAIL", subject, f"You can't {needed} {path} ({self._describe(st)}).", fix)
            return
        yield Finding("ok", subject, f"{path}: you can {needed} it ({self._describe(st)}).")
        if shared:
            yield from self._shared(path, st, subject, folder=path.is_dir())

    def user(self) -> Iterator[Finding]:
        names = ", ".join(sorted(_group(g) for g in self.groups))
        yield Finding("ok", "user", f"Checking as {_user(self.uid)} (uid {self.uid}; groups {names}).")
        if self.uid == 0:
            yield Finding("warn", "user", "You are root, who passes every permission check; the operators may not.",
                          "run `hitl-tui doctor` as each operator (e.g. sudo -u alice hitl-tui doctor)")
        mask = current_umask()
        if mask & stat.S_IWGRP:
            yield Finding("warn", "umask", f"Your umask is {mask:04o}: files you create (the DB's -wal and -shm, "
                          "the audit log's anchor and rotations) won't be writable by the rest of your group.",
                          "umask 0002 (in the operators' shell profile, or UMask=0002 for a service)")

    def folder(self, path: Path, subject: str, what: str) -> Iterator[Finding]:
        if not path.is_dir():
            yield Finding("FAIL", subject, f"The folder {path} does not exist.", f"mkdir -p {path}")
            return
        yield from self.access(path, subject, os.W_OK | os.X_OK, f"create files ({what}) in",
                                f"chgrp <team-group> {path} && chmod g+rwxs {path} (and add yourself to the group)")

    def db(self, db: Path) -> Iterator[Finding]:
        yield from self.folder(db.parent, "db-folder", f"{db.name}-wal, {db.name}-shm")
        if not db.is_file():
            yield Finding("FAIL", "db", f"{db} does not exist.", "start an agent that writes to it, or fix "
                          "console.db in config.toml (or --db)")
            return
        fix = f"chgrp <team-group> {db} && chmod g+rw {db} (and add yourself to the group)"
        yield from self.access(db, "db", os.R_OK | os.W_OK, "read and write", fix)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db}{suffix}")
            if side.exists():
                yield from self.access(side, suffix[1:], os.R_OK | os.W_OK, "read and write",
                                        f"chgrp <team-group> {side} && chmod g+rw {side}")
        yield from self._sqlite(db)

    def _sqlite(self, db: Path) -> Iterator[Finding]:
        """Prove with SQLite itself that this user can open the DB and take its write lock (nothing is written)."""
        from hitl_tui.db import connect

        try:
            conn = connect(db, readonly=False)
        except HitlError as err:
            yield Finding("FAIL", "db", err.message)
            return
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0].lower()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as err:
            text = str(err).lower()
            if "locked" in text or "busy" in text:
                yield Finding("warn", "db", f"{db} is a LangGraph DB, but another process held its write lock for "
                              "the whole check; try again.")
            else:
                yield Finding("FAIL", "db", f"SQLite can't write to {db}: {err} (the DB, its -wal/-shm or its "
                              "folder is not writable by you).", "see the other findings; then run doctor again")
            return
        finally:
            conn.close()
        yield Finding("ok", "db", f"{db} is a LangGraph checkpoint DB ({mode} journal); SQLite can take its "
                      "write lock as you, so you can decide.")

    def audit(self, log: Path) -> Iterator[Finding]:
        from hitl_tui.audit.anchor import anchor_path_for

        yield from self.folder(log.parent, "audit-folder", "the anchor, lock files and rotations")
        if log.exists():
            yield from self.access(log, "audit", os.R_OK | os.W_OK, "read and append to",
                                   f"chgrp <team-group> {log} && chmod g+rw {log}")
        else:
            yield Finding("ok", "audit", f"{log} does not exist yet; the first decision creates it.")
        # The anchor is replaced by rename (the folder's write bit): reading it is enough. The lock files are
        # opened for writing by every appender.
        anchor = anchor_path_for(log)
        if anchor.exists():
            yield from self.access(anchor, "anchor", os.R_OK, "read", f"chmod g+r {anchor}", shared=False)
        for lock in (Path(f"{log}.lock"), Path(f"{log}.flush")):
            if lock.exists():
                yield from self.access(lock, "audit", os.R_OK | os.W_OK, "read and write",
                                       f"chgrp <team-group> {lock} && chmod g+rw {lock}")


def run_doctor(config_path: Path | None, db_override: Path | None, out: TextIO) -> int:
    """Print every finding and what to fix; 0 when nothing failed, 1 otherwise."""
    doctor = Doctor()
    findings = list(doctor.user())
    config: Config | None = None
    try:
        config = load_config(config_path)
        from hitl_tui.decisions.graph_loader import check_graph_targets

        check_graph_targets(config)
        where = str(config_path) if config_path else "no config file (defaults)"
        findings.append(Finding("ok", "config", f"{where} loads, and every graph it names can be found."))
    except HitlError as err:
        findings.append(Finding("FAIL", "config", err.message))
    if config_path is not None and config_path.exists():
        findings += doctor.access(config_path, "config", os.R_OK, "read",
                                   f"chgrp <team-group> {config_path} && chmod g+r {config_path}", shared=False)
    db = db_override or (config.db if config else None)
    if db is None:
        findings.append(Finding("FAIL", "db", "No checkpoint DB is configured.",
                                "set console.db in config.toml, or pass --db"))
    elif isinstance(db, str):  # a Postgres URL: these checks are about SQLite files and their folders
        findings.append(Finding("ok", "db", "a Postgres database: file checks don't apply (README: \"Many hosts\")."))
    else:
        findings += doctor.db(Path(db))
    if config is not None:
        findings += doctor.audit(config.audit_log)
    # The DB and the audit log often share one folder: say each thing once.
    findings = list({(f.level, f.message): f for f in reversed(findings)}.values())[::-1]
    for f in findings:
        out.write(f"{f.level:<5} {f.subject:<13} {f.message}\n")
        if f.fix and f.level != "ok":
            out.write(f"{'':<19} fix: {f.fix}\n")
    failed = sum(1 for f in findings if f.level == "FAIL")
    warned = sum(1 for f in findings if f.level == "warn")
    if failed:
        out.write(f"\n{failed} problem(s) and {warned} warning(s): fix the problems, then run `hitl-tui doctor` "
                  "again.\n")
        return ExitCode.CHECK_FAILED
    out.write(f"\nEverything needed works for you ({warned} warning(s)).\n")
    return ExitCode.OK
