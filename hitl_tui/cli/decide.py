"""`hitl-tui approve|reject|edit|feedback|ignore THREAD` and `hitl-tui worker`: the console's rules, scriptable.

Exit codes: 0 done, 3 refused (stale, payload changed, already decided, not allowed by policy), 2 error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from hitl_tui.config import Config
from hitl_tui.db_target import DbTarget, describe
from hitl_tui.decisions.backend import open_ledger, open_thread_reader, thread_exists
from hitl_tui.decisions.decision import Decision, DecisionState
from hitl_tui.decisions.resume_values import InvalidDecision, edit_problem
from hitl_tui.errors import DecisionRefused, ExitCode, HitlError
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.safe_text import visible

DECISION_COMMANDS = {"approve", "reject", "edit", "feedback", "ignore", "worker", "ack"}



def add_decision_commands(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    helps = {
        "approve": "approve the pending action of a thread",
        "reject": "reject the pending action of a thread, with a reason",
        "edit": "replace the action's arguments with JSON, then approve",
        "feedback": "send free text that steers the agent",
        "ignore": "dismiss the interrupt (where the payload allows it)",
    }
    for name, text in helps.items():
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        add_common(p)
        if name == "edit":
            p.add_argument("thread", help="thread id")
        else:  # the same decision for many threads: one compare-and-set commit for all of them
            p.add_argument("thread", nargs="+", help="thread id (several: each is decided on its own terms)")
        p.add_argument("--interrupt", metavar="ID", help="which interrupt, when the thread has several (id or prefix)")
        p.add_argument("--action", type=int, default=None, metavar="N",
                       help="which action of a batched pause (1-based); without it, the decision covers every action")
        p.add_argument("--others", choices=("approve", "reject"),
                       help="with --action on a batched pause: what happens to the other actions (required there)")
        p.add_argument("--json", action="store_true", help="machine-readable result")
        p.add_argument("--yes", action="store_true",
                       help="confirm letting an action run that the policy wants confirmed (high risk or confirm = "
                       "true); without it that is refused, or asked about when stdin is a terminal")
        if name == "reject":
            p.add_argument("--reason", required=True, help="why (sent to the agent and written to the audit log)")
        if name == "edit":
            p.add_argument("--args", required=True, metavar="JSON",
                           help="the new arguments as a JSON object, or @FILE to read them from a file")
        if name == "feedback":
            p.add_argument("--text", required=True, help="what to tell the agent")
    p = sub.add_parser("ack", help="acknowledge an in-doubt resume after checking its side effects",
                       description="Record that you checked what an in-doubt resume did (its resumer died while the "
                       "agent may have been running). Until then its thread takes no new decision.")
    add_common(p)
    p.add_argument("decision_id", help="the decision id named in the refusal or the audit log")
    p.add_argument("--note", help="what you found (written to the audit log)")
    p = sub.add_parser("worker", help="resume decided threads (for consoles that don't load agent code)",
                       description="Resume decided threads with the graphs named in config.toml, settle claims of "
                       "resumers that died, apply timeouts, and write the audit log. Runs until interrupted.")
    add_common(p)
    p.add_argument("--once", action="store_true", help="do one pass and exit")
    p.add_argument("--interval", type=float, default=None, help="seconds between passes (default: poll_interval)")


def _pick_interrupt(thread: PendingThread, wanted: str | None) -> PendingInterrupt:
    if not thread.interrupts:
        raise HitlError(f"Thread {thread.thread_id} is not waiting for a human ({thread.status.value}).")
    if wanted is None:
        if len(thread.interrupts) > 1:
            ids = ", ".join(i.key for i in thread.interrupts)
            raise HitlError(f"Thread {thread.thread_id} has {len(thread.interrupts)} pending interrupts; "
                            f"pick one with --interrupt ({ids}).")
        return thread.interrupts[0]
    matches = [i for i in thread.interrupts if i.key == wanted or (i.interrupt_id or "").startswith(wanted)]
    if len(matches) != 1:
        raise HitlError(f"Thread {thread.thread_id} has no single pending interrupt matching {wanted!r}.")
    return matches[0]


def _edited_args(text: str) -> Any:
    """--args as JSON text, or `@file.json` for arguments too long or awkward to quote on a command line."""
    where = "--args"
    if text.startswith("@"):
        path = Path(text[1:])
        where = f"--args file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise HitlError(f"{where} does not exist.") from None
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
            raise HitlError(f"{where} can't be read: {reason}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise HitlError(f"{where} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}.") from None


def _decisions(args: argparse.Namespace, interrupt: PendingInterrupt) -> list[Decision]:
    kind = DecisionKind(args.command)
    count = len(interrupt.actions)
    index = 0 if args.action is None else args.action - 1
    if not 0 <= index < count:
        raise HitlError(f"This pause has {count} action(s); --action must be 1 to {count}.")
    new_args = None
    if kind is DecisionKind.EDIT:
        new_args = _edited_args(args.args)
    text = getattr(args, "reason", None) or getattr(args, "text", None)
    if count == 1:
        return [Decision(kind, 0, new_args, text)]
    # A batched pause takes one decision per action. Nothing is decided for an action the operator didn't name:
    # either the decision covers all of them, or --others says what happens to the rest.
    if args.action is None:
        if kind is DecisionKind.EDIT:
            raise HitlError(f"This pause carries {count} actions; name the one to edit with --action N.")
        return [Decision(kind, i, None, text) for i in range(count)]
    if args.others is None:
        raise HitlError(f"This pause carries {count} actions; with --action, also pass --others approve or "
                        "--others reject to say what happens to the rest.")
    other = DecisionKind(args.others)
    other_text = (text or f"rejected along with action {index + 1}") if other is DecisionKind.REJECT else None
    return [Decision(kind, i, new_args, text) if i == index else Decision(other, i, None, other_text)
            for i in range(count)]


def _run_decide(args: argparse.Namespace) -> int:
    from hitl_tui.cli.config_lookup import resolve
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.identity import current_operator
    from hitl_tui.policy.requirements import requirements_for

    thread_ids = args.thread if isinstance(args.thread, list) else [args.thread]
    if len(thread_ids) > 1 and (args.interrupt or args.action is not None):
        raise HitlError("--interrupt and --action pick an item of one thread; decide several threads without them.")
    config, db = resolve(args, resumes=True)
    reader = open_thread_reader(db, config)  # SQLite file or Postgres URL
    try:
        threads = {tid: reader.thread(tid) for tid in dict.fromkeys(thread_ids)}
    finally:
        reader.close()
    reports: dict[str, tuple[int, dict[str, Any], str]] = {}
    items = []
    for tid, thread in threads.items():
        try:
            if thread is None or thread.status is ThreadStatus.RUNNING_OR_STALLED:
                raise _not_waiting(config, db, tid, thread)
            interrupt = _pick_interrupt(thread, args.interrupt)
            decisions = _decisions(args, interrupt)
            for d in decisions:  # a wrong type in an edit is an error to fix, before any "are you sure?"
                if d.kind is DecisionKind.EDIT and (why := edit_problem(interrupt.actions[d.action_index], d.args)):
                    raise InvalidDecision(why)
            _confirmed(args, config, thread, interrupt, decisions)
            items.append((thread, interrupt, decisions))
        except DecisionRefused as refusal:
            reports[tid] = _refusal(tid, refusal)
        except HitlError as err:
            if len(threads) == 1:
                raise
            reports[tid] = (ExitCode.ERROR, {"status": "error", "thread_id": tid, "error": err.message}, err.message)
    if items:
        desk = DecisionDesk(config, db, current_operator(), requirements=requirements_for(config))
        try:
            results = desk.decide_bulk(items)
        finally:
            desk.close()
        for (thread, _, _), result in zip(items, results, strict=True):
            reports[thread.thread_id] = (_refusal(thread.thread_id, result) if isinstance(result, DecisionRefused)
                                         else _outcome(thread.thread_id, result, config))
    ordered = [reports[tid] for tid in threads]
    if len(ordered) == 1:
        _, data, line = ordered[0]
        _emit(args, data, line)
    elif args.json:
        print(json.dumps({"results": [data for _, data, _ in ordered]}))
    else:
        for _, data, line in ordered:
            print(f"{data['thread_id']}: {line}")
    warnings = {data["audit_error"] for _, data, _ in ordered if data.get("audit_error")}
    for warning in warnings:  # decided, but its trail isn't in the log yet: not a success
        print(f"hitl-tui: {warning} The decision is recorded in the DB; the next flush copies it to the log.",
              file=sys.stderr)
    codes = {code for code, _, _ in ordered} | ({ExitCode.ERROR} if warnings else set())
    return ExitCode.ERROR if ExitCode.ERROR in codes else ExitCode.REFUSED if ExitCode.REFUSED in codes else ExitCode.OK


def _confirmed(args: argparse.Namespace, config: Config, thread: PendingThread, interrupt: PendingInterrupt,
               decisions: list[Decision]) -> None:
    """The console's "are you sure?" holds here too: an action the policy wants confirmed (judged on what will run,
    edits included) needs --yes, or a yes typed at a terminal; otherwise it is refused before anything is recorded."""
    from hitl_tui.decisions.decision import as_decided
    from hitl_tui.policy.rules import EXECUTES, assess

    if getattr(args, "yes", False) or not any(d.kind in EXECUTES for d in decisions):
        return
    assessment = assess(config, thread, as_decided(interrupt, decisions))
    if not assessment.asks_confirmation:
        return
    names = ", ".join(visible(interrupt.actions[d.action_index].name) for d in decisions if d.kind in EXECUTES)
    what = f"{names} on thread {visible(thread.thread_id)} ({assessment.risk} risk)"
    if sys.stdin.isatty() and not getattr(args, "json", False):
        answer = input(f"Confirm: let {what} run? [y/N] ")
        if answer.strip().lower() in ("y", "yes"):
            return
        raise DecisionRefused(f"Not confirmed: {what} was not decided.")
    raise DecisionRefused(f"The policy asks confirmation for {what}; pass --yes to confirm. Nothing was decided.")


def _outcome(thread_id: str, result: Any, config: Config) -> tuple[int, dict[str, Any], str]:
    """What became of one thread's decision: exit code, JSON and sentence."""
    if result.awaiting_approvals:
        return ExitCode.OK, {"status": "awaiting_approvals", "thread_id": thread_id, "approvals": len(result.votes),
                         "approvals_needed": result.approvals_needed}, (
            f"Approval recorded: {len(result.votes)} of {result.approvals_needed} operators have approved.")
    record = result.records[0]
    state = record.state
    lines = {
        DecisionState.DECIDED: "Decided; a worker will resume the thread"
        + (f" ({result.resume_error})" if result.resume_error else "")
        + (f" (run `hitl-tui worker` with a config that names graph {record.graph_id!r})"
           if not result.resume_error and config.graph(record.graph_id) is None else "") + ".",
        DecisionState.PAUSED_AGAIN: "Decided and resumed; the thread is waiting for a human again.",
        DecisionState.FINISHED: "Decided and resumed; the thread ran to its end.",
        DecisionState.FAILED: f"Decided, but resuming failed: {record.error}",
        DecisionState.IN_DOUBT: f"Decided; the resume is in doubt: {record.error}",
        DecisionState.RESUMING: "Decided; another resumer is resuming it now.",
    }
    data = {"status": state.value, "thread_id": thread_id, "decision_id": record.decision_id,
            "error": record.error, "audit_error": result.audit_error}
    return (ExitCode.ERROR if state is DecisionState.FAILED else ExitCode.OK), data, lines[state]


def _not_waiting(config: Config, db: DbTarget, thread_id: str, thread: PendingThread | None) -> HitlError:
    """Why a thread can't be decided. Someone decided it already (it moved on or finished since): refused, the
    same answer a slower racer gets from the compare-and-set. Otherwise it is unknown or simply not paused."""

    ledger = open_ledger(db, config)
    try:
        past = ledger.for_threads([thread_id])
    finally:
        ledger.close()
    if past:
        last = past[-1]
        when = last.decided_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return DecisionRefused(
            f"Thread {thread_id} is no longer waiting for a human: it was decided ({last.as_record().summary}) "
            f"by {last.operator} at {when} and is now {last.state.value.replace('_', ' ')}."
        )
    if thread is None and not thread_exists(db, thread_id):
        return HitlError(f"There is no thread {thread_id!r} in {describe(db)}.")
    return HitlError(f"Thread {thread_id} is not waiting for a human in {describe(db)}.")


def _refusal(thread_id: str, refusal: DecisionRefused) -> tuple[int, dict[str, Any], str]:
    return ExitCode.REFUSED, {"status": "refused", "thread_id": thread_id, "reason": refusal.message}, (
        f"Refused: {refusal.message}")


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data))
    elif text:
        print(text)


def _run_worker(args: argparse.Namespace) -> int:
    from hitl_tui.cli.config_lookup import resolve
    from hitl_tui.console.worker import Worker

    config, db = resolve(args, resumes=True)
    worker = Worker(config, db)
    try:
        if args.once:
            report = worker.run_pass()
            print(report.summary())
            return ExitCode.OK
        interval = args.interval if args.interval is not None else max(config.poll_interval, 0.2)
        print(f"hitl-tui worker: resuming {', '.join(worker.graph_names()) or 'no graphs'} on {describe(db)}; "
              "ctrl+c stops.",
              flush=True)
        while True:
            report = worker.run_pass()
            if report.anything:
                print(report.summary(), flush=True)
            time.sleep(interval)
    finally:
        worker.close()


def _run_ack(args: argparse.Namespace) -> int:
    from hitl_tui.cli.config_lookup import resolve
    from hitl_tui.decisions.desk import DecisionDesk
    from hitl_tui.identity import current_operator

    config, db = resolve(args)
    desk = DecisionDesk(config, db, current_operator(), resume_in_process=False)
    try:
        row = desk.ledger.acknowledge(args.decision_id, desk.operator, args.note)
        desk.flush_audit()
    finally:
        desk.close()
    print(f"Acknowledged; thread {row.thread_id} can be decided again.")
    return ExitCode.OK


def run_decision_command(args: argparse.Namespace) -> int:
    if args.command == "worker":
        return _run_worker(args)
    if args.command == "ack":
        return _run_ack(args)
    try:
        return _run_decide(args)
    except HitlError as err:
        # With --json, stdout always carries one JSON object; the sentence still goes to stderr (cli.main).
        _emit(args, {"status": "error", "thread_id": args.thread, "error": err.message}, "")
        raise
