"""`hitl-tui demo`: never wipes an existing DB without --force (or a person's yes at a terminal), and its
confidence agent takes the band from the demo's own config.toml when $HITL_TUI_CONFIG is unset."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from demo_fixtures import clean_env

from hitl_tui.cli.main import main
from hitl_tui.demo.runner import prepare_demo

FIXTURES = (clean_env,)  # pytest finds fixtures by module attribute


def confidence_thresholds(directory: Path) -> list[tuple[float, float | None]]:
    demo = prepare_demo(directory, threads_per_agent=1)
    try:
        [tid] = demo.threads["confidence_agent"]
        values = demo.graph("confidence_agent").get_state({"configurable": {"thread_id": tid}}).values
        return [(values["threshold"], values["reject_below"])]
    finally:
        demo.close()


def test_demo_band_comes_from_the_demo_config_without_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HITL_TUI_CONFIG", raising=False)
    assert confidence_thresholds(tmp_path / "demo") == [(0.85, 0.30)]  # the demo config's [[policy.band]]
    other = tmp_path / "other.toml"
    other.write_text('[[policy.band]]\ngraph = "confidence_agent"\nauto_approve_at = 0.95\n', encoding="utf-8")
    monkeypatch.setenv("HITL_TUI_CONFIG", str(other))
    assert confidence_thresholds(tmp_path / "demo2") == [(0.95, None)]  # an explicit choice still wins


def test_demo_refuses_to_replace_an_existing_db_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "demo"
    assert main(["demo", "--dir", str(directory), "--no-console", "--offline"]) == 0
    db = directory / "checkpoints.db"
    audit = directory / "decisions.jsonl"
    audit.write_text("kept\n", encoding="utf-8")
    before = db.stat().st_mtime_ns, db.stat().st_size
    capsys.readouterr()
    assert main(["demo", "--dir", str(directory), "--no-console", "--offline"]) == 2
    assert capsys.readouterr().err == (f"hitl-tui: {db} already exists; pass --force to replace it (with its audit "
                                       "log and outbox), or choose another --dir.\n")
    assert (db.stat().st_mtime_ns, db.stat().st_size) == before and audit.read_text() == "kept\n"
    assert main(["demo", "--dir", str(directory), "--no-console", "--offline", "--force"]) == 0
    assert not audit.exists()


def ask_at_a_terminal(directory: Path, answer: bytes) -> tuple[int, str]:
    """Run `hitl-tui demo` with stdin and stderr on a pseudo-terminal, answer its question, return (code, screen)."""
    leader, follower = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "hitl_tui", "demo", "--dir", str(directory), "--no-console",
                             "--offline"], stdin=follower, stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in screen and time.monotonic() < deadline:
        screen += os.read(leader, 4096)
    os.write(leader, answer)
    code = proc.wait(timeout=120)
    try:
        while chunk := os.read(leader, 4096):
            screen += chunk
    except OSError:  # the terminal closed with the process
        pass
    os.close(leader)
    return code, screen.decode(errors="replace")


def test_demo_asks_at_a_terminal(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    db = directory / "checkpoints.db"
    directory.mkdir()
    db.write_bytes(b"")  # an existing file is enough to ask; "no" leaves it alone
    code, screen = ask_at_a_terminal(directory, b"n\n")
    assert code == 2 and f"{db} exists; replace it, with the audit log and outbox beside it? [y/N]" in screen
    assert f"hitl-tui: Left {db} as it was." in screen and db.stat().st_size == 0
    code, screen = ask_at_a_terminal(directory, b"y\n")
    assert code == 0 and "Preparing the demo" in screen and db.stat().st_size > 0
