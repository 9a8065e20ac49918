"""`hitl-tui demo`: (re)create a demo DB full of paused agents, then open the console on it."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from hitl_tui.errors import ExitCode, HitlError


def run_demo(args: argparse.Namespace) -> int:
    from hitl_tui.demo.runner import prepare_demo, run_live

    if args.offline:
        os.environ["HITL_DEMO_OFFLINE"] = "1"
    if args.interval <= 0:
        raise HitlError("--interval must be a positive number of seconds.")
    _may_replace(args.dir, force=args.force)
    print(f"Preparing the demo in {args.dir.resolve()} ...", file=sys.stderr, flush=True)
    try:
        env = prepare_demo(args.dir)
    except OSError as err:
        raise HitlError(f"Can't create the demo in {args.dir}: {err.strerror}.") from None
    stop = threading.Event()
    live = None
    if args.live:
        live = threading.Thread(target=run_live, args=(env, args.interval, stop), name="demo-live", daemon=True)
        live.start()
    try:
        if args.no_console:
            return _print_until_stopped(env, live is not None, args.interval)
        from hitl_tui.ui.launch import run_console

        return run_console(env.config, env.db_path, readonly=args.readonly)
    finally:
        stop.set()
        if live is not None:
            live.join(timeout=30)
        env.close()


def _may_replace(directory: Path, *, force: bool) -> None:
    """Preparing a demo wipes the DB, audit log and outbox in `directory`: only with --force or a person's yes."""
    from hitl_tui.demo.runner import DB_FILENAME

    db = directory / DB_FILENAME
    if force or not db.exists():
        return
    if sys.stdin.isatty() and sys.stderr.isatty():
        print(f"{db} exists; replace it, with the audit log and outbox beside it? [y/N] ", end="", file=sys.stderr,
              flush=True)
        try:
            answer = sys.stdin.readline().strip().lower()
        except KeyboardInterrupt:
            answer = ""
        if answer in ("y", "yes"):
            return
        raise HitlError(f"Left {db} as it was.")
    raise HitlError(f"{db} already exists; pass --force to replace it (with its audit log and outbox), "
                    "or choose another --dir.")


def _print_until_stopped(env: object, live: bool, interval: float) -> int:
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.cli.listing import print_listing, selected

    db_path = env.db_path  # type: ignore[attr-defined]
    config = env.config  # type: ignore[attr-defined]
    reader = CheckpointReader(db_path, config)
    try:
        print_listing(selected(reader.read_all().threads), out=sys.stdout)
        print(f"\nDemo DB: {db_path}\nConfig:  {env.config_path}", flush=True)  # type: ignore[attr-defined]
        if not live:
            return ExitCode.OK
        print("Starting a new agent run every few seconds; ctrl+c stops.", flush=True)
        stopped = threading.Event()
        while not stopped.wait(interval / 2):
            change = reader.poll()
            if change is not None:
                for thread in change.threads:
                    if thread.thread_id in change.changed:
                        print(f"paused: {thread.thread_id} ({thread.graph_id})", flush=True)
    except KeyboardInterrupt:
        return ExitCode.OK
    finally:
        reader.close()
    return ExitCode.OK
