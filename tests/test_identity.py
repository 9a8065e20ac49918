"""Operator identity comes from the OS (real uid, password database), never from USER or similar."""

from __future__ import annotations

import json
import os
import pty
import pwd
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hitl_tui.identity import Operator, current_operator, read_login_uid, ssh_client_from_env, user_name

REPO = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter; switches uid first when asked (only possible as root), then reports.
_CHILD = """
import json, os, sys
from hitl_tui.identity import current_operator
if len(sys.argv) > 1:
    uid = int(sys.argv[1])
    os.setgid(uid)
    os.setuid(uid)
print(json.dumps(current_operator().as_record()))
"""


def _child_operator(env_extra: dict[str, str], *args: str, stdin: int | None = None) -> dict:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env_extra}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        env=env,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def test_real_process_identity_is_the_os_uid_not_the_environment() -> None:
    spoofed = {"USER": "mallory", "LOGNAME": "mallory", "SSH_CONNECTION": "203.0.113.9 52144 10.0.0.2 22"}
    rec = _child_operator(spoofed)
    assert rec["uid"] == os.getuid()
    assert rec["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert rec["user"] != "mallory" or pwd.getpwuid(os.getuid()).pw_name == "mallory"
    assert rec["host"] == socket.gethostname()
    assert rec["kind"] == "human"
    assert rec["ssh_client"] == "203.0.113.9"
    assert rec["ssh_client_port"] == 52144
    assert rec["ssh_client_source"] == "env"
    assert rec["tty"] is None  # stdin/stdout/stderr are a null device and pipes
    assert rec["login_uid"] == read_login_uid()  # inherited from this process


def test_without_ssh_variables_there_is_no_client_and_no_source() -> None:
    rec = _child_operator({})
    assert rec["ssh_client"] is None
    assert rec["ssh_client_source"] is None


def test_tty_is_the_terminal_on_stdin() -> None:
    master, slave = pty.openpty()
    try:
        rec = _child_operator({}, stdin=slave)
        assert rec["tty"] == os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(os.getuid() != 0, reason="switching to another uid needs root")
def test_another_uid_is_named_from_the_password_database() -> None:
    nobody = pwd.getpwnam("nobody")
    rec = _child_operator({"USER": "root"}, str(nobody.pw_uid))
    assert rec["uid"] == nobody.pw_uid
    assert rec["user"] == "nobody"


@pytest.mark.skipif(os.getuid() != 0, reason="switching to another uid needs root")
def test_uid_without_password_entry_is_named_by_number() -> None:
    uid = 54321
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    rec = _child_operator({"USER": "root"}, str(uid))
    assert rec["uid"] == uid
    assert rec["user"] == f"uid:{uid}"


def test_user_name_fallback_for_unknown_uid() -> None:
    assert user_name(os.getuid()) == pwd.getpwuid(os.getuid()).pw_name
    assert user_name(2**31 - 7) == f"uid:{2**31 - 7}"


@pytest.mark.parametrize(
    ("content", "expected"),
    [("4294967295", None), ("1000\n", 1000), ("0", 0), ("garbage", None), ("", None)],
)
def test_login_uid_parsing(tmp_path: Path, content: str, expected: int | None) -> None:
    f = tmp_path / "loginuid"
    f.write_text(content)
    assert read_login_uid(f) == expected


def test_login_uid_missing_file(tmp_path: Path) -> None:
    assert read_login_uid(tmp_path / "absent") is None


def test_ssh_client_parsing() -> None:
    assert ssh_client_from_env({"SSH_CLIENT": "2001:db8::1 40000 22"}) == ("2001:db8::1", 40000)
    both = {"SSH_CONNECTION": "198.51.100.1 1 10.0.0.1 22", "SSH_CLIENT": "192.0.2.1 2 22"}
    assert ssh_client_from_env(both) == ("198.51.100.1", 1)
    assert ssh_client_from_env({"SSH_CLIENT": "   "}) == (None, None)


def test_current_operator_ignores_user_variable_in_process() -> None:
    op = current_operator(environ={"USER": "mallory", "SSH_CLIENT": "192.0.2.7 1234 22"})
    assert op.uid == os.getuid()
    assert op.user == pwd.getpwuid(os.getuid()).pw_name
    assert op.ssh_client == "192.0.2.7" and op.ssh_client_source == "env"
    assert op.display == f"{op.user}@{socket.gethostname()}"
    assert op.is_human


def test_policy_actor_and_record_round_trip() -> None:
    pol = Operator.policy("timeout")
    assert pol.kind == "policy" and not pol.is_human
    assert pol.user == "policy:timeout"
    assert pol.display == f"policy:timeout@{socket.gethostname()}"
    rec = pol.as_record()
    assert rec["kind"] == "policy" and rec["policy"] == "timeout"
    json.dumps(rec)  # must be JSON-ready for the audit log
    assert Operator.from_record(rec) == pol
    human = current_operator(environ={})
    assert Operator.from_record(json.loads(json.dumps(human.as_record()))) == human


def test_operator_is_frozen() -> None:
    op = current_operator(environ={})
    with pytest.raises(AttributeError):
        op.uid = 12345  # type: ignore[misc]
