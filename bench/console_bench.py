"""Console benchmark: 10,000 paused threads, the real `hitl-tui` in a real terminal (tmux, 120x40).

    uv run --frozen python bench/console_bench.py                 # 10,000 paused threads (DB built once, cached)
    uv run --frozen python bench/console_bench.py --threads 2000 --pauses 10

Measures, with the console instrumented by $HITL_TUI_PAINT_LOG (it appends a line each time the list is painted
after a read: wall time, rows, heavy modules loaded so far, new thread ids):
- first paint: from just before tmux starts the process to the first paint of the full list (median of --runs);
- memory: the console's resident set (VmRSS) and peak (VmHWM) a second after the list is painted;
- new pause: another process (this one) runs a real LangGraph graph until it pauses on a new thread; the time
  from the end of that run to the console painting the new row (p50/p95/max over --pauses);
- idle CPU: the console's CPU time over 5 s with nothing changing;
- whether LangGraph or openai were imported before the first paint (they must not be).
Targets (2 cores): first paint < 1.0 s, memory < 200 MB, new pause visible < 250 ms at p95, idle CPU ~0; on the
backlog mix (--mix backlog: 100k threads, 43k paused) first paint < 0.6 s, memory < 300 MB, new pause p95 < 100 ms.

The DB is built like bench/reader_bench.py's (real graphs once per pause style, rows copied under new thread ids),
with every thread paused; it is cached in bench/.cache/. Python bytecode for the venv is compiled first if missing
(PYTHONDONTWRITEBYTECODE=1 on these machines doubles import time otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

# Per mix: 10,000 paused threads (the console's first benchmark), and the 100k-thread backlog with 43k paused.
TARGETS_BY_MIX = {
    "all-paused": {"first_paint_s": 1.0, "rss_mb": 200.0, "new_pause_p95_ms": 250.0},
    "backlog": {"first_paint_s": 0.6, "rss_mb": 300.0, "new_pause_p95_ms": 100.0},
}
TMUX = shutil.which("tmux")


def build_db(n: int, mix: str) -> Path:
    """A cached DB: n threads all paused (every pause style, round robin), or reader_bench's backlog mix."""
    import reader_bench  # the reader benchmark's builder: real graphs once, rows copied with SQL

    reader_bench.MIXES["all-paused"] = list(reader_bench._PAUSED)
    return reader_bench.db_path(n, rebuild=False, mix=mix)


def ensure_bytecode() -> None:
    """Bytecode as an installed hitl-tui has it (pip and uv compile it at install time). Where
    PYTHONDONTWRITEBYTECODE=1 is set nothing is ever cached, and each start would compile every module again
    (imports twice as slow): the venv is compiled once, and hitl_tui's own modules before every run (compileall
    skips the ones that are up to date)."""
    import textual

    cache = Path(textual.__file__).parent / "__pycache__"
    folders = [str(ROOT / "hitl_tui")]
    if not (cache.exists() and any(cache.iterdir())):
        print("compiling the venv's bytecode once (imports are twice as slow without it) ...", file=sys.stderr)
        folders.insert(0, str(Path(textual.__file__).parent.parent))
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *folders], check=False, capture_output=True)


def write_config(folder: Path) -> Path:
    from bench_graphs import BREAKPOINTS

    lines = ["[console]", 'db = "checkpoints.db"', 'audit_log = "decisions.jsonl"']
    for graph_id, nodes in BREAKPOINTS.items():
        lines += [f"[graphs.{graph_id}]", f"interrupt_before = {json.dumps(nodes)}"]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Console:
    """`hitl-tui` running in its own tmux server."""

    def __init__(self, folder: Path, paint_log: Path) -> None:
        self.server = f"hitl-bench-{os.getpid()}-{time.monotonic_ns()}"
        env = " ".join(f"-u {k}" for k in ("COLUMNS", "LINES", "HITL_TUI_CONFIG", "NO_COLOR"))
        cmd = (f"cd {folder} && exec env {env} HITL_TUI_PAINT_LOG={paint_log} TEXTUAL_ANIMATIONS=none "
               f"{sys.executable} -m hitl_tui --config config.toml")
        self.started = time.time()
        subprocess.run([TMUX, "-L", self.server, "new-session", "-d", "-s", "c", "-x", "120", "-y", "40", cmd],
                       check=True)
        self.pid = int(subprocess.run([TMUX, "-L", self.server, "display", "-p", "-t", "c", "#{pane_pid}"],
                                      capture_output=True, text=True, check=True).stdout)

    def proc_status(self) -> dict[str, str]:
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            out[key] = value.strip()
        return out

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def press(self, key: str) -> None:
        subprocess.run([TMUX, "-L", self.server, "send-keys", "-t", "c", key], check=True)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.server, "send-keys", "-t", "c", "q"], capture_output=True)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{self.pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run([TMUX, "-L", self.server, "kill-server"], capture_output=True)


def paint_lines(path: Path) -> list[tuple[float, str, int, str, list[str]]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split(" ")
        out.append((float(parts[0]), parts[1], int(parts[2]), parts[3], [p for p in parts[4:] if p]))
    return out


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.002)
    raise SystemExit(f"timed out waiting for {what}")


def keys_while_loading(console: Console, log: Path) -> list[float]:
    """While the rest of the list is still being read: press the cursor-down key every 0.2 s and time each press
    to the repaint that shows the moved cursor (ms). Empty when the whole list came in one go."""
    latencies: list[float] = []
    at = 0  # the cursor's row
    while not any(p[1] == "first" for p in paint_lines(log)) and len(latencies) < 50:
        sent = time.time()
        console.press("j")
        moved = wait_for(lambda at=at, sent=sent: next((p for p in paint_lines(log) if p[1] == "cursor" and p[0] >= sent
                                             and int(p[4][0]) > at), None), 10, "the cursor to move")
        at = int(moved[4][0])
        latencies.append(max(0.0, moved[0] - sent) * 1000)
        time.sleep(0.2)
    return latencies  # in press order (the summary sorts them)


def one_run(db: Path, pauses: int, measure_pauses: bool) -> dict[str, Any]:
    from bench_graphs import run_template
    from langgraph.checkpoint.sqlite import SqliteSaver

    with tempfile.TemporaryDirectory(prefix="hitl-console-bench-") as tmp:
        folder = Path(tmp)
        shutil.copy2(db, folder / "checkpoints.db")
        # Write the copy out now: the kernel flushing 1.5 GB of it while the console starts is not the console's cost.
        os.sync()
        write_config(folder)
        log = folder / "paint.log"
        console = Console(folder, log)
        try:
            # "first-rows": the first batch of a progressive read on screen (only when the reader reports batches).
            wait_for(lambda: next((p for p in paint_lines(log) if p[1] in ("first", "first-rows")), None), 60,
                     "first paint")
            keys_ms = keys_while_loading(console, log)
            first = wait_for(lambda: next((p for p in paint_lines(log) if p[1] == "first"), None), 120, "full list")
            rows = next((p for p in paint_lines(log) if p[1] == "first-rows"), first)
            result: dict[str, Any] = {"first_paint_s": rows[0] - console.started, "rows": first[2],
                                      "full_list_s": first[0] - console.started,
                                      "heavy_modules_at_first_paint": rows[3], "keys_while_loading_ms": keys_ms}
            time.sleep(1.0)
            status = console.proc_status()
            result["rss_mb"] = int(status["VmRSS"].split()[0]) / 1024
            result["peak_rss_mb"] = int(status["VmHWM"].split()[0]) / 1024
            cpu0, t0 = console.cpu_seconds(), time.monotonic()
            time.sleep(5.0)
            result["idle_cpu_pct"] = 100 * (console.cpu_seconds() - cpu0) / (time.monotonic() - t0)
            if measure_pauses:
                writer = sqlite3.connect(folder / "checkpoints.db", check_same_thread=False)
                saver = SqliteSaver(writer)
                latencies = []
                for i in range(pauses):
                    tid = f"bench-new-{i:03d}"
                    run_template(saver, "email", False, tid)
                    written = time.time()
                    painted = wait_for(lambda tid=tid: next((p for p in paint_lines(log) if tid in p[4]), None),
                                       30, f"{tid} on screen")
                    latencies.append(max(0.0, painted[0] - written) * 1000)
                    time.sleep(0.2)  # pauses arrive apart, as from agents
                writer.close()
                latencies.sort()
                result["new_pause_ms"] = {
                    "p50": statistics.median(latencies),
                    "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
                    "max": latencies[-1],
                }
        finally:
            console.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, help="threads in the DB (default: 10,000 all paused; 100,000 backlog)")
    parser.add_argument("--mix", choices=["all-paused", "backlog"], default="all-paused",
                        help="all-paused: every thread paused; backlog: 43%% paused in every payload shape, the rest "
                        "finished (reader_bench.py's backlog DB)")
    parser.add_argument("--runs", type=int, default=3, help="cold starts to take the median of")
    parser.add_argument("--pauses", type=int, default=30, help="new pauses to time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not TMUX:
        raise SystemExit("tmux is needed: the benchmark runs the console in a real terminal")
    ensure_bytecode()
    args.threads = args.threads or (100_000 if args.mix == "backlog" else 10_000)
    db = build_db(args.threads, args.mix)
    runs = [one_run(db, args.pauses, measure_pauses=(i == 0)) for i in range(args.runs)]
    firsts = [r["first_paint_s"] for r in runs]
    summary = {
        "threads": args.threads,
        "rows": runs[0]["rows"],
        "first_paint_s": statistics.median(firsts),
        "first_paint_runs_s": firsts,
        "full_list_s": statistics.median(r["full_list_s"] for r in runs),
        "heavy_modules_at_first_paint": sorted({r["heavy_modules_at_first_paint"] for r in runs}),
        "rss_mb": max(r["rss_mb"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "idle_cpu_pct": max(r["idle_cpu_pct"] for r in runs),
        "new_pause_ms": runs[0]["new_pause_ms"],
        "keys_while_loading_ms": sorted(x for r in runs for x in r["keys_while_loading_ms"]),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    targets = TARGETS_BY_MIX[args.mix]
    ok = {
        "first_paint_s": summary["first_paint_s"] < targets["first_paint_s"],
        "rss_mb": summary["rss_mb"] < targets["rss_mb"],
        "new_pause_p95_ms": summary["new_pause_ms"]["p95"] < targets["new_pause_p95_ms"],
    }
    mark = {True: "ok", False: "MISSED"}
    print(f"{summary['threads']:,} threads, {args.mix} mix ({summary['rows']:,} rows listed), {summary['cpus']} CPUs, "
          f"load average {summary['load_average'][0]:.2f}")
    print(f"first paint     {summary['first_paint_s']:.3f} s (runs: "
          f"{', '.join(f'{x:.3f}' for x in firsts)})  target < {targets['first_paint_s']} s  "
          f"{mark[ok['first_paint_s']]}")
    print(f"full list       {summary['full_list_s']:.3f} s (all rows read and painted)")
    print(f"heavy modules loaded before first paint: {summary['heavy_modules_at_first_paint']} (want ['-'])")
    print(f"memory          {summary['rss_mb']:.0f} MB resident, {summary['peak_rss_mb']:.0f} MB peak  "
          f"target < {targets['rss_mb']:.0f} MB  {mark[ok['rss_mb']]}")
    p = summary["new_pause_ms"]
    print(f"new pause       p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms, max {p['max']:.0f} ms  "
          f"target p95 < {targets['new_pause_p95_ms']:.0f} ms  {mark[ok['new_pause_p95_ms']]}")
    keys = summary["keys_while_loading_ms"]
    if keys:
        print(f"keys while the list loads  p50 {statistics.median(keys):.0f} ms, "
              f"p95 {keys[min(len(keys) - 1, round(0.95 * (len(keys) - 1)))]:.0f} ms, max {keys[-1]:.0f} ms "
              f"({len(keys)} presses: key to repainted cursor)")
    print(f"idle CPU        {summary['idle_cpu_pct']:.2f} %")


if __name__ == "__main__":
    main()
