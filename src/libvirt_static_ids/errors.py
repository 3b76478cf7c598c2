# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Typed errors with stable codes; only the edges (CLI, UMC, listener) turn them into exits."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """The documented exit codes of the command line tool."""

    OK = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3
    INTERRUPTED = 4


class StaticIdsError(Exception):
    """Base of every error the core raises on purpose."""

    code = "error"
    exit_code = ExitCode.FAILED

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class UsageError(StaticIdsError):
    """Bad input: a value the user gave cannot be used. Nothing was changed."""

    code = "bad-input"
    exit_code = ExitCode.USAGE


class PreflightRefused(StaticIdsError):
    """Blockers stand in the way; nothing was changed."""

    code = "refused"
    exit_code = ExitCode.REFUSED


class InterruptedRunExists(StaticIdsError):
    """An earlier run was interrupted and must be resumed or rolled back first."""

    code = "interrupted-run"
    exit_code = ExitCode.INTERRUPTED


class LockHeld(StaticIdsError):
    """Another run holds this root's lock."""

    code = "locked"


class OperationFailed(StaticIdsError):
    """An action was attempted and did not (fully) succeed."""

    code = "failed"


class JournalError(StaticIdsError):
    """A journal is missing or unreadable."""

    code = "journal"


class UnknownJournalFormat(StaticIdsError):
    """A run written in a newer journal format: refused, never misread. Nothing was changed."""

    code = "journal-format"
    exit_code = ExitCode.USAGE


class UnitRunning(StaticIdsError):
    """A transient systemd unit of this name is already running; nothing was started."""

    code = "unit-running"
