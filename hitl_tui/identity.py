"""Who is acting: the operator as the operating system knows them, never as the environment claims.

Four-eyes rules count distinct operators, so identity must come from the process's real uid (and the
password database), not from `USER`/`LOGNAME`, which anyone can set. The SSH client address can only be
learned from the environment, so it is recorded with `ssh_client_source = "env"` to say how far to trust it.
"""

from __future__ import annotations

import os
import pwd
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ActorKind = Literal["human", "policy"]

# The kernel's "no login uid" value, (uid_t)-1: the process was not started through a login session.
_UNSET_LOGIN_UID = 4294967295
_LOGINUID_FILE = Path("/proc/self/loginuid")


@dataclass(frozen=True)
class Operator:
    """An actor in the audit log: a person (by OS uid) or a policy acting on its own (timeout, auto-rule)."""

    uid: int
    user: str
    host: str
    login_uid: int | None = None
    tty: str | None = None
    ssh_client: str | None = None  # client IP address, as reported by SSH_CONNECTION / SSH_CLIENT
    ssh_client_port: int | None = None
    ssh_client_source: str | None = None  # "env" when ssh_client came from the environment
    kind: ActorKind = "human"
    policy_name: str | None = None  # for kind == "policy": e.g. "timeout"

    @property
    def display(self) -> str:
        """A short name for screens and log lines: "alice@host" or "policy:timeout@host"."""
        return f"{self.user}@{self.host}"

    @property
    def is_human(self) -> bool:
        """True for a person; policies must never count towards a four-eyes quorum."""
        return self.kind == "human"

    def as_record(self) -> dict[str, Any]:
        """The JSON-ready form written as the `actor` field of an audit record."""
        return {
            "kind": self.kind,
            "uid": self.uid,
            "user": self.user,
            "login_uid": self.login_uid,
            "tty": self.tty,
            "ssh_client": self.ssh_client,
            "ssh_client_port": self.ssh_client_port,
            "ssh_client_source": self.ssh_client_source,
            "host": self.host,
            "policy": self.policy_name,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Operator:
        """Rebuild an Operator from `as_record()` output (e.g. read back from the audit log)."""
        kind = record.get("kind", "human")
        return cls(
            uid=int(record["uid"]),
            user=str(record["user"]),
            host=str(record.get("host", "")),
            login_uid=record.get("login_uid"),
            tty=record.get("tty"),
            ssh_client=record.get("ssh_client"),
            ssh_client_port=record.get("ssh_client_port"),
            ssh_client_source=record.get("ssh_client_source"),
            kind="policy" if kind == "policy" else "human",
            policy_name=record.get("policy"),
        )

    @classmethod
    def policy(cls, name: str, *, host: str | None = None) -> Operator:
        """A non-human actor such as `Operator.policy("timeout")`; uid is the process that applied it."""
        uid = os.getuid()
        return cls(
            uid=uid,
            user=f"policy:{name}",
            host=host if host is not None else socket.gethostname(),
            kind="policy",
            policy_name=name,
        )


def user_name(uid: int) -> str:
    """The password database's name for uid, or "uid:N" when it has none (containers often don't)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def read_login_uid(path: Path = _LOGINUID_FILE) -> int | None:
    """The audit login uid (who logged in, surviving su/sudo), or None when unset or unavailable."""
    try:
        raw = path.read_text().strip()
        value = int(raw)
    except (OSError, ValueError):
        return None
    return None if value == _UNSET_LOGIN_UID else value


def controlling_tty() -> str | None:
    """The terminal device of stdin, stdout or stderr (first that is a tty), or None."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.ttyname(fd)
        except OSError:
            continue
    return None


def ssh_client_from_env(environ: Mapping[str, str]) -> tuple[str | None, int | None]:
    """(address, port) of the SSH client from SSH_CONNECTION, else SSH_CLIENT; (None, None) if unset."""
    for var in ("SSH_CONNECTION", "SSH_CLIENT"):
        parts = environ.get(var, "").split()
        if not parts:
            continue
        port: int | None = None
        if len(parts) > 1 and parts[1].isdigit():
            port = int(parts[1])
        return parts[0], port
    return None, None


def current_operator(environ: Mapping[str, str] | None = None) -> Operator:
    """The person running this process, identified by real uid; `environ` is injectable for tests."""
    env = os.environ if environ is None else environ
    uid = os.getuid()
    address, port = ssh_client_from_env(env)
    return Operator(
        uid=uid,
        user=user_name(uid),
        host=socket.gethostname(),
        login_uid=read_login_uid(),
        tty=controlling_tty(),
        ssh_client=address,
        ssh_client_port=port,
        ssh_client_source="env" if address is not None else None,
    )
