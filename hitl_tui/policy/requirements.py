"""What a decision on one pending interrupt requires: how many distinct operators, and who may not approve.

The desk asks `requirements_for(config)(thread, interrupt)` before every submission. Approvals come from the
risk rules (`rules.assess`). The initiator -- the person who started the run -- is taken from the payload's
`initiator` (the project's own payload) or else from the checkpoint metadata's `user_id` (what
`configurable.user_id` becomes), and excluded from approving only when it names a local OS user: four-eyes is
about OS identities (uids), and a name the password database doesn't know can't be anyone's uid here.
The ledger enforces the rest: distinct uids, an edit resets the approvals gathered, any reject is final.
"""

from __future__ import annotations

import pwd
from collections.abc import Callable

from hitl_tui.config import Config, check_policy
from hitl_tui.decisions.desk import Requirements
from hitl_tui.model import PendingInterrupt, PendingThread
from hitl_tui.policy.rules import assess

UidResolver = Callable[[str], int | None]


def local_uid(name: str) -> int | None:
    """The uid of a local user by name ("alice"), or from the "uid:N" form hitl-tui writes when a uid has no name."""
    name = name.strip()
    if not name:
        return None
    try:
        return pwd.getpwnam(name).pw_uid
    except (KeyError, UnicodeEncodeError, ValueError):  # ValueError: an embedded NUL
        pass
    if name.startswith("uid:") and name[4:].isdigit():
        return int(name[4:])
    return None


def initiator_name(thread: PendingThread, interrupt: PendingInterrupt) -> str | None:
    """Who started the run, as the payload or the checkpoint metadata says."""
    if interrupt.initiator:
        return interrupt.initiator
    user = thread.metadata.get("user_id") if isinstance(thread.metadata, dict) else None
    return user if isinstance(user, str) and user else None


def requirements_for(
    config: Config, *, resolve_uid: UidResolver = local_uid
) -> Callable[[PendingThread, PendingInterrupt], Requirements]:
    """The desk's `requirements=` callable for this config; `resolve_uid` is injectable for tests.

    Raises ConfigError (one sentence) when the policy can't be applied as written.
    """
    check_policy(config.policy)

    def requirements(thread: PendingThread, interrupt: PendingInterrupt) -> Requirements:
        assessment = assess(config, thread, interrupt)
        name = initiator_name(thread, interrupt)
        return Requirements(
            approvals_needed=assessment.approvals,
            initiator_uid=resolve_uid(name) if name else None,
            risk=assessment.risk,
        )

    return requirements
