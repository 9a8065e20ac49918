"""A real terminal for end-to-end tests: tmux runs the console, the test types keys and reads the screen.

Each test gets its own tmux server (`-L`), so nothing touches the developer's sessions. Reading polls
`capture-pane` for the expected text; there are no fixed sleeps.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TMUX = shutil.which("tmux")
CLEAN_ENV = ("OPENAI_API_KEY", "HITL_OPENAI_API_KEY", "OPENAI_BASE_URL", "HITL_OPENAI_BASE_URL", "HITL_DEMO_MODEL",
             "HITL_DEMO_OFFLINE", "HITL_DEMO_OUTBOX", "HITL_TUI_CONFIG", "NO_COLOR", "TEXTUAL_ANIMATIONS", "COLUMNS",
             "LINES")  # COLUMNS/LINES would override the pane size


class Terminal:
    """One tmux window running one command."""

    def __init__(self, server: str, name: str, command: list[str], cwd: Path, *, width: int = 120, height: int = 40,
                 env: dict[str, str] | None = None) -> None:
        assert TMUX, "tmux is required for the end-to-end tests"
        self.server, self.name = server, name
        settings = {"TEXTUAL_ANIMATIONS": "none", **(env or {})}
        unset = " ".join(f"-u {k}" for k in CLEAN_ENV if k not in settings)
        assign = " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items())
        # `env` inside the pane: tmux would otherwise hand the pane its server's environment. The exit status goes
        # to a file: tmux's own #{pane_dead_status} is sometimes left empty.
        self.status_file = Path(tempfile.mkstemp(prefix=f"hitl-e2e-{name}-", suffix=".status")[1])
        self.status_file.write_text("")
        shell = (f"cd {shlex.quote(str(cwd))} && env {unset} {assign} {shlex.join(command)}; "
                 f"echo $? > {shlex.quote(str(self.status_file))}; sleep 600")
        self._tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), shell)

    def _tmux(self, *args: str) -> str:
        out = subprocess.run([TMUX, "-L", self.server, *args], capture_output=True, text=True, timeout=10)
        if out.returncode != 0 and args[0] not in ("kill-session", "kill-server"):
            raise RuntimeError(f"tmux {args[0]} failed: {out.stderr.strip()}")
        return out.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def send(self, *keys: str) -> None:
        """tmux key names ("Enter", "Escape", "C-s") or single characters."""
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def wait_for(self, wanted: str | re.Pattern[str] | Callable[[str], bool], timeout: float = 30.0) -> str:
        """The screen, once it shows `wanted` (text, regex or predicate); fails with the last screen."""
        if isinstance(wanted, str):
            def test(screen: str) -> bool:
                return wanted in screen
        elif isinstance(wanted, re.Pattern):
            def test(screen: str) -> bool:
                return wanted.search(screen) is not None
        else:
            test = wanted
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if test(screen):
                return screen
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {wanted!r}; the screen was:\n{screen}")

    def set_option(self, name: str, value: str) -> None:
        """A global tmux option of this terminal's server (`set -g`)."""
        self._tmux("set-option", "-g", name, value)

    def record_output(self, path: Path) -> None:
        """Append everything the pane's program writes to its terminal, raw (escape sequences included), to `path`:
        what the terminal around it receives, which `capture-pane` (the rendered screen) can't show."""
        self._tmux("pipe-pane", "-O", "-t", self.name, f"cat >> {shlex.quote(str(path))}")

    def pane(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", self.name, fmt).strip()

    def exit_status(self, timeout: float = 10.0) -> int:
        """The command's exit status, once it has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.status_file.read_text().strip()
            if text:
                self.status_file.unlink(missing_ok=True)
                return int(text)
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not exit; the screen was:\n{self.screen()}")


def console_command(*args: str) -> list[str]:
    """`hitl-tui` with this interpreter, so the project's venv is used."""
    return [sys.executable, "-m", "hitl_tui", *args]


def row(screen: str, thread_id: str) -> str:
    """The list row of a thread (its first row)."""
    for line in screen.splitlines():
        if f" {thread_id} " in line:
            return line
    return ""


def kill_server(server: str) -> None:
    if TMUX:
        subprocess.run([TMUX, "-L", server, "kill-server"], capture_output=True, timeout=10)


def unique_server() -> str:
    return f"hitl-e2e-{os.getpid()}-{time.monotonic_ns()}"
