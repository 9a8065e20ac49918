"""`hitl-tui --help`, every subcommand's `--help` and `--version` work and say something useful."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hitl_tui import __version__

SUBCOMMANDS = ["demo", "list", "watch", "approve", "reject", "edit", "feedback", "ignore", "ack", "worker", "audit",
               "report", "doctor"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hitl_tui", *args], capture_output=True, text=True, timeout=60)


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"hitl-tui {__version__}"


def test_top_level_help_lists_every_command() -> None:
    out = run("--help")
    assert out.returncode == 0
    for name in SUBCOMMANDS:
        assert name in out.stdout
    assert "--readonly" in out.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name: str) -> None:
    out = run(name, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: hitl-tui " + name)
    assert len(out.stdout.splitlines()) > 3


def test_audit_verify_help() -> None:
    out = run("audit", "verify", "--help")
    assert out.returncode == 0
    assert "hash chain" in out.stdout


def test_no_db_configured_is_one_sentence(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hitl_tui", "list"], capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 2
    assert out.stderr.strip() == "hitl-tui: No checkpoint DB given: pass --db PATH or set console.db in config.toml."


@pytest.mark.parametrize("name", [None, *SUBCOMMANDS])
def test_exit_codes_are_in_every_help(name: str | None) -> None:
    out = run(*([name] if name else []), "--help")
    text = " ".join(out.stdout.split())
    for code in ("0 done", "1 the audit log was tampered with", "2 an error", "3 a decision was refused",
                 "130 interrupted"):
        assert code in text


def test_exit_codes_are_in_the_readme() -> None:
    from pathlib import Path

    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert ("Exit codes, for every command: `0` done; `1` the audit log was tampered with (`audit verify`) or "
            "something must be fixed (`doctor`); `2` an error") in readme
