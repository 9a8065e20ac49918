"""Errors a user can cause, each carrying one clear sentence and an exit code."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The process exit codes of every command (the CLI's --help lists them)."""

    OK = 0
    CHECK_FAILED = 1  # `audit verify`: the log was tampered with; `doctor`: something must be fixed
    ERROR = 2  # bad input, config or DB; one sentence on stderr
    REFUSED = 3  # a decision was refused: stale, already decided, not allowed
    INTERRUPTED = 130


class HitlError(Exception):
    """A problem the user can fix; the CLI prints `str(err)` and exits with `exit_code`."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(HitlError):
    """config.toml is missing, malformed, or names something that does not exist."""


class CheckpointDBError(HitlError):
    """The checkpoint database is missing, unreadable, locked, or not a LangGraph DB."""


class DecisionRefused(HitlError):
    """A decision lost its compare-and-set: stale, payload changed, or decided first by someone else."""

    exit_code = ExitCode.REFUSED


class ClaimLost(HitlError):
    """A resume claim lapsed (its lease ran out) and may be another host's now: the resume stops before running."""


class GraphLoadError(HitlError):
    """The graph named in config.toml could not be imported or built."""
