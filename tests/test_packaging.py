"""hitl-tui installs as a tool other users can run: the wheel carries every module and the console's stylesheet,
the `hitl-tui` entry point, and `uv tool install` of that wheel on the system Python gives a command that a second
user (uid 65534) can run: `--version`, `--help` and `doctor --help` as real processes. (pipx isn't installed on these
machines; it builds the same kind of venv from the same wheel.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv")
SYSTEM_PYTHON = Path("/usr/bin/python3")
pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([str(UV), "build", "--wheel", "--offline", "-o", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    [built] = out.glob("hitl_tui-*.whl")
    return built


def test_the_wheel_carries_every_module_and_the_stylesheet(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "hitl_tui").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped <= names, sorted(shipped - names)
    assert "hitl_tui/ui/console.tcss" in names
    [entry_points] = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "hitl-tui = hitl_tui.cli.main:entry" in text


def tool_install(wheel: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`uv tool install <wheel>` on the system Python: from uv's cache first (no network needed once the project's
    dependencies were synced), from the registry only when the cache lacks something."""
    command = [str(UV), "tool", "install", "--python", str(SYSTEM_PYTHON), str(wheel)]
    done = subprocess.run([*command, "--offline"], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    return done


@pytest.fixture(scope="module")
def installed(wheel: Path) -> Iterator[Path]:
    """The built wheel installed as a tool (what `uv tool install .` and pipx do: its own venv, one command on
    PATH) into a folder every user can read; the command's path."""
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no system Python at /usr/bin/python3")
    base = Path(tempfile.mkdtemp(prefix="hitl-tool-", dir="/tmp"))
    os.chmod(base, 0o755)
    env = {**os.environ, "UV_TOOL_DIR": str(base / "tools"), "UV_TOOL_BIN_DIR": str(base / "bin")}
    done = tool_install(wheel, env)
    if done.returncode != 0 and ("network" in done.stderr or "Failed to fetch" in done.stderr):
        shutil.rmtree(base)
        pytest.skip(f"the package registry can't be reached: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    yield base / "bin" / "hitl-tui"
    shutil.rmtree(base)


def as_another_user(command: list[str]) -> list[str]:
    """Run as uid 65534 when the suite runs as root, as a second operator on the host would."""
    if os.getuid() == 0 and shutil.which("setpriv"):
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return command


def test_uv_tool_install_gives_a_command_another_user_can_run(installed: Path, tmp_path: Path) -> None:
    from hitl_tui import __version__

    done = subprocess.run(as_another_user([str(installed), "--version"]), capture_output=True, text=True,
                          timeout=120, cwd="/")
    assert (done.returncode, done.stdout.strip()) == (0, f"hitl-tui {__version__}"), done.stderr
    venv_python = installed.resolve().parent / "python"
    assert os.path.realpath(venv_python) == os.path.realpath(SYSTEM_PYTHON)  # not a Python only root can reach


@pytest.mark.parametrize("args", [["--help"], ["doctor", "--help"]])
def test_the_installed_command_runs_as_a_real_process(installed: Path, args: list[str]) -> None:
    # A clean environment: nothing of this checkout (no PYTHONPATH, no venv on PATH) can stand in for the install.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
    done = subprocess.run(as_another_user([str(installed), *args]), capture_output=True, text=True, timeout=120,
                          cwd="/", env=env)
    assert done.returncode == 0, done.stderr
    usage = "usage: hitl-tui doctor" if args[0] == "doctor" else "usage: hitl-tui"
    assert done.stdout.startswith(usage) and done.stderr == "", done.stdout[:200]
