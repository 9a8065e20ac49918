"""Errors the audit log raises; each says in one sentence what is wrong with which file."""

from __future__ import annotations

from hitl_tui.errors import HitlError


class AuditLogError(HitlError):
    """Base class: something is wrong with the audit log."""


class AuditLogUnwritable(AuditLogError):
    """The audit log, its lock file or its anchor could not be created or written."""


class AuditLogCorrupt(AuditLogError):
    """The log's tail is damaged or disagrees with its anchor, so nothing more can be chained onto it."""


class AuditLogMissing(AuditLogError):
    """The audit log to verify does not exist or cannot be read."""
