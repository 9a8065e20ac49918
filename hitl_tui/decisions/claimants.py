"""Who holds a resume claim (host, pid, the pid's start time, the boot), and whether that holder is alive.

On one host the pid tells; a holder on another host can't be judged from here (the Postgres ledger's leases
settle those). HITL_TUI_HOST_ID names the host where host names clash, or where tests simulate several hosts.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """The process start time from /proc (clock ticks since boot): tells a live pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def boot_id() -> str | None:
    """This boot of the host (Linux); a claim from an earlier boot died in an OS crash or reboot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


HOST_ID_ENV = "HITL_TUI_HOST_ID"


def host_id() -> str:
    """This host's name in claims: $HITL_TUI_HOST_ID (hosts whose names clash, or tests simulating several hosts
    on one machine), else the host name."""
    return os.environ.get(HOST_ID_ENV) or socket.gethostname()


def claimant_id() -> str:
    """Who holds a claim: host, pid, the pid's start time and the boot."""
    pid = os.getpid()
    return f"{host_id()}|{pid}|{_start_time(pid)}|{boot_id()}"


def _parts(claimant: str) -> tuple[str, str, str, str | None]:
    host, _, rest = claimant.partition("|")
    pid, _, rest = rest.partition("|")
    started, _, boot = rest.partition("|")
    return host, pid, started, (boot if boot and boot != "None" else None)  # claims from before boot ids: None


def claimant_alive(claimant: str | None) -> bool | None:
    """True/False for a claimant on this host; None when it is on another host (we can't tell)."""
    if not claimant:
        return False
    host, pid_text, started, boot = _parts(claimant)
    if host != host_id():
        return None
    if boot is not None and boot != boot_id():
        return False  # start times count from boot: a pid of an earlier boot may match by chance
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return _start_time(pid) == started and started != "None"


def claimed_before_this_boot(claimant: str | None) -> bool:
    """True when a claim on this host dates from an earlier boot: its relaxed phase marks may be lost."""
    if not claimant:
        return False
    host, _, _, boot = _parts(claimant)
    return host == host_id() and boot is not None and boot != boot_id()
