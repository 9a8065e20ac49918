"""The console app and `build_app`, the one factory the CLI and the tests use.

Clock, identity and every source (checkpoint reader, thread context, decision records, desk, audit tail) are
injected, so tests and snapshots are deterministic; by default they are the real ones, built lazily inside the
thread that uses them (the desk loads LangGraph, so it is built after the first paint).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from hitl_tui.clock import Clock, utc_now
from hitl_tui.config import Config
from hitl_tui.console.context_loader import ContextLoader, ContextSource
from hitl_tui.console.decision_runner import AckJob, DecisionJob, DecisionRunner
from hitl_tui.console.loop_events import Decider, RecordFeed, ThreadSource
from hitl_tui.console.review_items import ReviewItem
from hitl_tui.console.watchers import AuditWatcher, DBWatcher, file_identity
from hitl_tui.db_target import DbTarget, describe, is_postgres
from hitl_tui.decisions.backend import open_thread_reader
from hitl_tui.decisions.decision import Decision, DecisionRecord
from hitl_tui.decisions.state import ItemKey, Voter
from hitl_tui.identity import Operator, current_operator
from hitl_tui.model import PendingInterrupt, PendingThread
from hitl_tui.notify import Notice, Notifier, encode
from hitl_tui.ui.dialogs.edit import editor_command
from hitl_tui.ui.dialogs.help import HelpScreen, help_entries
from hitl_tui.ui.keys import app_bindings, bound, keymap
from hitl_tui.ui.messages import (
    AcknowledgeAnswered,
    AuditLoaded,
    ContextLoaded,
    DecisionAnswered,
    ProblemChanged,
    RecordsLoaded,
    ThreadsLoaded,
    message_for,
)
from hitl_tui.ui.screens.console import ConsoleScreen
from hitl_tui.ui.widgets.thread_list import Escalate

AUDIT_POLL_SECONDS = 0.25
WARM_UP_DELAY = 0.5  # seconds after the first paint before the desk (and LangGraph) is loaded



@dataclass(frozen=True)
class Sources:
    """Factories for everything the console reads and writes through; each is called in its own thread."""

    threads: Callable[[], ThreadSource]
    records: Callable[[], RecordFeed | None] | None
    desk: Callable[[], Decider] | None
    audit_tail: Callable[[], Any] | None
    # The recent messages of the thread on screen, read when the operator looks at it (None: none are shown).
    context: Callable[[], ContextSource] | None = None


class ConsoleApp(App[int]):
    """The approval console."""

    CSS_PATH = "console.tcss"
    TITLE = "hitl-tui"
    BINDINGS: ClassVar[list[BindingType]] = [*app_bindings()]

    def __init__(
        self,
        *,
        config: Config,
        db: DbTarget,
        operator: Operator,
        clock: Clock,
        readonly: bool,
        sources: Sources,
        editor: str | None,
        cursor_blink: bool = True,
        terminal_write: Callable[[str], None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._terminal_write = terminal_write  # None: the terminal itself (tests inject a recorder)
        self._environ = os.environ if environ is None else environ
        self.config = config
        self.db = db
        self.operator = operator
        self.clock = clock
        self.readonly = readonly
        self.sources = sources
        self.editor = editor
        self.cursor_blink = cursor_blink
        self.key_overrides = keymap(config.keys)  # what set_keymap gets; dialogs read it for their hint lines
        assess, escalate = policy_views(config)
        shown_db = describe(db) if is_postgres(db) else db  # the status line names the DB; a URL, without password
        self.console_screen = ConsoleScreen(db=shown_db, operator=operator.display, operator_uid=operator.uid,
                                            readonly=readonly, clock=clock, assess=assess, escalate=escalate,
                                            editor=editor, key_label=self.key_label,
                                            notifier=Notifier(config.notify) if config.notify.enabled else None,
                                            reads_context=sources.context is not None)
        self._db_watcher = DBWatcher(db, sources.threads, sources.records, config.poll_interval, self._emit)
        self._audit_watcher = (
            AuditWatcher(sources.audit_tail, max(AUDIT_POLL_SECONDS, config.poll_interval), self._emit)
            if sources.audit_tail else None
        )
        self._runner = DecisionRunner(sources.desk, self._emit) if sources.desk and not readonly else None
        self._context_loader = (
            ContextLoader(sources.context, self._emit,
                          identity=None if is_postgres(db) else functools.partial(file_identity, Path(db)))
            if sources.context else None
        )
        self._warmed = False
        self._in_flight = 0  # decisions handed to the runner and not answered yet
        self._quitting = False

    # -- start and stop ----------------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return self.console_screen

    def on_mount(self) -> None:
        self.set_keymap(self.key_overrides)

    def start_background(self) -> None:
        """Start the loops; called by the console screen once its widgets exist (they receive the results)."""
        self.run_worker(self._db_watcher.run, name="db-watch", group="db-watch", thread=True, exclusive=True,
                        exit_on_error=False)
        if self._audit_watcher is not None:
            self.run_worker(self._audit_watcher.run, name="audit-watch", group="audit-watch", thread=True,
                            exclusive=True, exit_on_error=False)
        if self._runner is not None:
            self.run_worker(self._runner.run, name="decisions", group="decisions", thread=True, exclusive=True,
                            exit_on_error=False)
        if self._context_loader is not None:
            # A thread of its own, not a Textual worker: those share asyncio's default executor (6 threads on 2
            # CPUs), which the three loops above already hold for good.
            threading.Thread(target=self._context_loader.run, name="hitl-context", daemon=True).start()

    def _stop_background(self) -> None:
        for watcher in (self._db_watcher, self._audit_watcher):
            if watcher is not None:
                watcher.stop.set()
                watcher.wake.set()
        if self._runner is not None:
            self._runner.stop()
        if self._context_loader is not None:
            self._context_loader.stop()

    async def action_quit(self) -> None:
        if self._in_flight and not self._quitting:
            # A resume in progress must finish (or it ends "in doubt"): stay up and say so, quit when it is done.
            self._quitting = True
            again = self.key_label("quit")
            self.console_screen.apply_problem(
                "quit", f"Finishing {self._in_flight} decision(s) before quitting; press {again} again to close the "
                "window now (the resume still runs to its end).")
            return
        self._stop_background()
        self.exit(0)

    def on_unmount(self) -> None:
        self._stop_background()

    # -- what the loops report ---------------------------------------------------------------------------------

    def _emit(self, event: object) -> None:
        self.post_message(message_for(event))

    def _screen_gone(self) -> bool:
        # A loop's last report can land while the app is closing and the screen's widgets are already gone.
        screen = self.console_screen
        return not screen.is_attached or not screen.is_running

    def on_threads_loaded(self, message: ThreadsLoaded) -> None:
        if self._screen_gone():
            return
        event = message.event
        self.console_screen.apply_threads(event.result, event.ledger, complete=event.complete)
        if event.complete and not self._warmed and self._runner is not None:
            self._warmed = True
            self.set_timer(WARM_UP_DELAY, self._runner.warm_up)

    def on_records_loaded(self, message: RecordsLoaded) -> None:
        if not self._screen_gone():
            self.console_screen.apply_ledger(message.event.ledger)

    def on_audit_loaded(self, message: AuditLoaded) -> None:
        if not self._screen_gone():
            self.console_screen.apply_audit(message.event.records)

    def on_problem_changed(self, message: ProblemChanged) -> None:
        event = message.event
        if event.source == "db" and event.message and self._context_loader is not None:
            self._context_loader.forget()  # the DB may be gone or replaced: hold no connection to it
        if not self._screen_gone():
            self.console_screen.apply_problem(event.source, event.message)

    def on_context_loaded(self, message: ContextLoaded) -> None:
        if not self._screen_gone():
            event = message.event
            self.console_screen.apply_context(event.key, event.messages, error=event.error)

    def on_decision_answered(self, message: DecisionAnswered) -> None:
        if self._screen_gone():
            return
        event = message.event
        self._in_flight = max(0, self._in_flight - 1)
        self.console_screen.apply_outcome(event.key, result=event.result, refused=event.refused, error=event.error)
        if self._quitting and not self._in_flight:
            self._stop_background()
            self.exit(0)
        self._db_watcher.wake.set()
        if self._audit_watcher is not None:
            self._audit_watcher.wake.set()

    def on_acknowledge_answered(self, message: AcknowledgeAnswered) -> None:
        if self._screen_gone():
            return
        event = message.event
        self.console_screen.apply_acknowledged(event.key, record=event.record, error=event.error)
        self._db_watcher.wake.set()

    # -- what the screen asks for ------------------------------------------------------------------------------

    def on_queue_screen_ready(self, message: ConsoleScreen.Ready) -> None:
        """Start the loops once the screen's widgets exist (they receive the results)."""
        self.start_background()

    def on_console_screen_decision_submitted(self, message: ConsoleScreen.DecisionSubmitted) -> None:
        self.submit_decision(message.key, message.thread, message.interrupt, message.decisions)

    def on_console_screen_acknowledge_requested(self, message: ConsoleScreen.AcknowledgeRequested) -> None:
        self.acknowledge(message.key, message.decision_id)

    def on_queue_screen_context_wanted(self, message: ConsoleScreen.ContextWanted) -> None:
        if self._context_loader is not None:
            self._context_loader.request(message.key, message.graph_id)

    def on_queue_screen_notices_raised(self, message: ConsoleScreen.NoticesRaised) -> None:
        self.tell(message.notices)

    # -- decisions ---------------------------------------------------------------------------------------------

    def submit_decision(
        self, key: str, thread: PendingThread, interrupt: PendingInterrupt, decisions: Sequence[Decision]
    ) -> None:
        """Hand a decision to the decision thread (the desk does the compare-and-set and the resume)."""
        if self._runner is None:
            self.console_screen.apply_outcome(key, error="This console can't decide (read-only or no desk).")
            return
        self._in_flight += 1
        self._runner.submit(DecisionJob(key, thread, interrupt, tuple(decisions)))

    def acknowledge(self, key: str, decision_id: str) -> None:
        """Hand a person's word that an in-doubt resume was checked to the decision thread (it writes the DB)."""
        if self._runner is None:
            self.console_screen.apply_acknowledged(key, error="This console can't record that (read-only).")
            return
        self._runner.submit(AckJob(key, decision_id))

    # -- telling the operator ----------------------------------------------------------------------------------

    def tell(self, notices: list[Notice]) -> None:
        """Write what hitl_tui.notify decided (bell, desktop notification) to the terminal; nothing else here."""
        data = encode(notices, self.config.notify, self._environ)
        if not data:
            return
        if self._terminal_write is not None:
            self._terminal_write(data)
        elif not self.is_headless and self._driver is not None:
            self._driver.write(data)  # as App.bell does: through the driver, never interleaved with a frame

    # -- keys, help and palette --------------------------------------------------------------------------------

    def key_label(self, binding_id: str) -> str:
        """How the key(s) of one id show now ("q", "j / ↓"), for text that names a key: right after a remap too."""
        return " / ".join(self.get_key_display(b) for b in bound(binding_id, self.key_overrides))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "quit" and isinstance(self.screen, ModalScreen):
            return None  # in a dialog, q is text or "close"; quitting from there would lose the dialog's input
        return True

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        ours = [b.id for b in self.console_screen.BINDINGS + self.BINDINGS if isinstance(b, Binding) and b.id]
        entries = help_entries(self.screen.active_bindings, self.get_key_display, ours)
        self.push_screen(HelpScreen(entries, readonly=self.readonly))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # keep Textual's own (theme, keys, screenshot, quit)
        console = self.console_screen
        if screen is not console:
            return
        # Every action that has a key, generated from the same bindings (so nothing is missing or worded twice),
        # offered when it applies to the selected item now.
        seen: set[str] = set()
        for binding in [*console.BINDINGS, *self.BINDINGS]:
            if not isinstance(binding, Binding) or not binding.id or binding.action in seen or binding.id == "quit":
                continue
            seen.add(binding.action)
            name, parameters = _parse_action(binding.action)
            owner: Any = console if binding in console.BINDINGS else self
            if owner.check_action(name, parameters) is True:
                yield SystemCommand(binding.description, binding.tooltip or binding.description,
                                    _run(owner, binding.action))
        yield SystemCommand("Clear filter", "Show every item again", console.action_clear_filter)


def _parse_action(action: str) -> tuple[str, tuple[object, ...]]:
    """`decide('approve')` -> ("decide", ("approve",)), as Textual's binding actions are written."""
    from textual.actions import parse

    _, name, parameters = parse(action)
    return name, parameters


def _run(owner: Any, action: str) -> Callable[[], Any]:
    return lambda: owner.run_action(action)


class _LedgerRecords:
    """Decision records read through the ledger on the watcher's own connection."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def recent(self, limit: int = 500) -> list[DecisionRecord]:
        return self._ledger.recent_records(limit)

    def votes(self) -> dict[ItemKey, tuple[Voter, ...]]:
        """Approvals of open four-eyes rounds, from whichever console gave them."""
        from hitl_tui.decisions.state import open_votes

        return open_votes(self._ledger.connection)

    def close(self) -> None:
        self._ledger.close()


def policy_views(config: Config) -> tuple[Callable[[PendingThread, PendingInterrupt], Any], Escalate]:
    """How the console asks the policy about an item: its assessment, and its deadline pressure at a moment."""
    from hitl_tui.policy.rules import assess
    from hitl_tui.policy.timeouts import escalation_for

    def assessment(thread: PendingThread, interrupt: PendingInterrupt) -> Any:
        try:
            return assess(config, thread, interrupt)
        except Exception:  # a rule that can't be applied: show the agent's own risk; the desk will say why
            return None

    def pressure(item: ReviewItem, now: datetime) -> Any:
        if item.interrupt is None or item.assessment is None:
            return None
        return escalation_for(config, item.thread, item.interrupt, now, item.assessment)

    return assessment, pressure


def default_sources(config: Config, db: DbTarget, operator: Operator, *, readonly: bool,
                    desk_clock: Clock | None = None) -> Sources:
    """The real reader, ledger, desk and audit tail; each built in the thread that uses it."""

    def threads() -> ThreadSource:

        return open_thread_reader(db, config)  # SQLite file or Postgres URL

    def records() -> RecordFeed | None:
        from hitl_tui.decisions.ledger import DecisionLedger, LedgerView

        if is_postgres(db):
            from hitl_tui.decisions.postgres.ledger import PostgresLedger

            return _LedgerRecords(PostgresLedger(str(db), config, clock=desk_clock, create=not readonly))
        assert isinstance(db, Path)
        if readonly:  # an observer never writes to the DB, not even our own tables
            return _LedgerRecords(LedgerView(db))
        return _LedgerRecords(DecisionLedger(db, config, clock=desk_clock))

    def desk() -> Decider:
        from hitl_tui.decisions.desk import DecisionDesk
        from hitl_tui.policy.requirements import requirements_for

        # The same policy as `hitl-tui approve`: four-eyes approvals, the initiator excluded.
        return DecisionDesk(config, db, operator, clock=desk_clock, requirements=requirements_for(config))

    def context() -> ContextSource:
        return open_thread_reader(db, config)  # a connection of its own (console/context_loader.py)

    def audit_tail() -> Any:
        from hitl_tui.audit import AuditTail

        return AuditTail(config.audit_log, backlog=200)

    return Sources(threads=threads, records=records, desk=None if readonly else desk,
                   audit_tail=audit_tail, context=context)


def build_app(
    config: Config,
    db: DbTarget,
    *,
    operator: Operator | None = None,
    clock: Clock | None = None,
    readonly: bool = False,
    sources: Sources | None = None,
    editor: str | None = "env",
    cursor_blink: bool = True,
    terminal_write: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConsoleApp:
    """The console for `db`; tests inject the clock, operator, sources, editor and where notifications go."""
    who = operator or current_operator()
    return ConsoleApp(
        config=config,
        db=db,
        operator=who,
        clock=clock or utc_now,
        readonly=readonly,
        sources=sources or default_sources(config, db, who, readonly=readonly),
        editor=editor_command() if editor == "env" else editor,
        cursor_blink=cursor_blink,
        terminal_write=terminal_write,
        environ=environ,
    )
