# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Undo a run from its journal: entries exactly as before, then the account numbers.

Rollback is itself idempotent: entries already back are skipped, so an interrupted rollback
is finished by running it again. An entry someone else changed since is listed, never
overwritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import OperationFailed, PreflightRefused, UsageError
from libvirt_static_ids.files import repair
from libvirt_static_ids.host import account_database, accounts, downtime, processes, services
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.records import AccountKind, AccountRecord, StepRecord
from libvirt_static_ids.journal.runs import RunInfo, RunKind, RunState
from libvirt_static_ids.journal.store import Journal, Store


class RollbackStatus(StrEnum):
    """A rollback that ran (clean, or with entries changed since and left), or would, or none."""

    ROLLED_BACK = "rolled-back"
    WITH_CONFLICTS = "rolled-back-with-conflicts"
    WOULD_ROLL_BACK = "would-roll-back"
    NOTHING = "nothing-to-roll-back"


# Bare `rollback` undoes only what these commands did (a bridge closes by `bridge close`).
_UNDOABLE = (RunKind.CONVERT, RunKind.REPAIR, RunKind.ORPHANS)


@dataclass
class RollbackReport:
    run: RunInfo | None
    dry_run: bool = False
    stats: repair.RepairStats = field(default_factory=repair.RepairStats)
    accounts: list[str] = field(default_factory=list)
    domains: list[dict[str, Any]] = field(default_factory=list)  # started again (downtime)
    would: list[repair.EntryChange] = field(default_factory=list)  # a dry run's restores

    @property
    def clean(self) -> bool:
        return not self.stats.problems

    @property
    def status(self) -> RollbackStatus:
        if self.run is None:
            return RollbackStatus.NOTHING
        if self.dry_run:
            return RollbackStatus.WOULD_ROLL_BACK
        return RollbackStatus.ROLLED_BACK if self.clean else RollbackStatus.WITH_CONFLICTS

    def as_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"domains": self.domains} if self.domains else {}
        if self.dry_run:
            extra["changes"] = [change.as_dict() for change in self.would]
        return {
            "command": "rollback",
            "dry_run": self.dry_run,
            "run_id": self.run.run_id if self.run else None,
            "kind": self.run.kind if self.run else None,
            "status": self.status,
            "accounts": self.accounts,
            "restored": self.stats.changed,
            "conflicts": [problem.as_dict() for problem in self.stats.problems],
            **extra,
        }


def _changed_something(store: Store, run: RunInfo) -> bool:
    return any(store.open(run.run_id).records())


def _choose(store: Store, run_id: str | None) -> RunInfo | None:
    """The named run; or the last convert run, refusing when a later run changed files too.

    Runs that changed nothing and runs rolled back already are never offered; with nothing
    left there is nothing to do (None), and the only run left is the one meant. Undoing a
    convert under a later repair would leave that repair's files half undone, so then the
    runs must be named, newest first.
    """
    if run_id is not None:
        return store.info(store.open(run_id))
    candidates = [
        run
        for run in store.runs()
        if run.kind in _UNDOABLE
        and run.state != RunState.ROLLED_BACK
        and _changed_something(store, run)
    ]
    converts = [run for run in candidates if run.kind == RunKind.CONVERT]
    if not candidates:
        return None
    if candidates[-1].kind == RunKind.CONVERT or len(candidates) == 1:
        return candidates[-1]  # the last convert run, or the only run there is to undo
    listed = ", ".join(f"{run.run_id} ({run.kind})" for run in reversed(candidates))
    why = (
        f"a later run changed files after the last convert run {converts[-1].run_id}"
        if converts
        else "no convert run is left to undo"
    )
    raise UsageError(
        f"rollback: {why}; name the run to undo, newest first: {listed}",
        option="RUN_ID",
        candidates=[run.as_dict() for run in reversed(candidates)],
    )


def rollback(
    root: HostRoot,
    run_id: str | None = None,
    *,
    restart: bool = True,
    dry_run: bool = False,
    proc: str = "/proc",
) -> RollbackReport:
    """Undo the named run, or the last convert run; ``dry_run`` only says what it would do."""
    store = Store(root)
    if run_id is not None:
        store.open(run_id)  # a malformed or unknown RUN_ID is refused before anything is made
    elif not os.path.isdir(store.base):
        return RollbackReport(None, dry_run)  # never converted: nothing is made, not even a lock
    with store.locked():
        run = _choose(store, run_id)
        if run is None:
            return RollbackReport(None, dry_run)
        journal = store.open(run.run_id)
        account_changes = list(journal.records_of(AccountRecord))  # every record checked first
        if dry_run:
            return _would_roll_back(root, run, journal, account_changes)
        _preflight(root, account_changes, proc)
        with store.taken_up(run.run_id, RunState.ROLLING_BACK) as journal:
            return _roll_back(root, run, journal, account_changes, restart=restart)


def _would_roll_back(
    root: HostRoot, run: RunInfo, journal: Journal, account_changes: list[AccountRecord]
) -> RollbackReport:
    """Exactly what ``_roll_back`` would restore, with nothing written."""
    report = RollbackReport(run, dry_run=True)
    repair.undo(journal, report.stats, report.would)
    for change in reversed(account_changes):
        current = _account_number(root, change)
        if current == change.new:
            report.accounts.append(f"{change.kind} {change.name}: {change.new} -> {change.old}")
        elif current != change.old:
            report.stats.problems.append(_account_conflict(change, current))
    report.domains = [
        downtime.VmOutcome(
            vm.name, vm.uuid, downtime.OutcomeStatus.STOPPED, list(vm.images or ())
        ).as_dict()
        for vm in downtime.stopped_by(journal)
    ]
    return report


def _roll_back(
    root: HostRoot,
    run: RunInfo,
    journal: Journal,
    account_changes: list[AccountRecord],
    *,
    restart: bool,
) -> RollbackReport:
    """Undo files, then accounts (newest first), then what only a live host has."""
    report = RollbackReport(run)
    repair.undo(journal, report.stats)
    for change in reversed(account_changes):
        _restore_account(root, change, report)
    if account_changes:
        accounts.flush_name_caches(root)
        if restart and root.is_live and any(journal.records_of(StepRecord)):
            failure = services.restart_libvirtd()
            if failure:
                report.stats.problems.append(repair.Problem(b"libvirtd", failure))
    report.domains = downtime.after_rollback(journal, run.params, report.stats)
    journal.set_state(
        RunState.ROLLED_BACK,
        restored=report.stats.changed,
        conflicts=len(report.stats.problems),
    )
    return report


def _preflight(root: HostRoot, account_changes: list[AccountRecord], proc: str) -> None:
    """Before any file is put back: the numbers to restore must be free again, the account
    database whole, and nothing running as the converted UID (``--prefix`` skips usermod's
    own check). Every reason is listed."""
    if not account_changes:
        return
    db = account_database.read(root)
    blockers = host_survey.database_blockers(db)
    old = {change.kind: change.old for change in account_changes}
    blockers += host_survey.old_number_blockers(
        root,
        db,
        old.get(AccountKind.USER),
        old.get(AccountKind.GROUP),
        "rolling back would hand libvirt-qemu's files to it; give it another number first",
    )
    for change in account_changes:
        if change.kind != AccountKind.USER:
            continue
        busy = processes.running_as(change.new, proc)
        if busy:
            blockers.append(
                host_survey.Blocker(
                    host_survey.BlockerCode.PROCESSES_RUNNING,
                    f"{len(busy)} process(es) run as UID {change.new}: "
                    + ", ".join(f"{p.pid} ({p.name})" for p in busy),
                    tuple(p.pid for p in busy),
                )
            )
    if blockers:
        raise PreflightRefused(
            f"{len(blockers)} blocker(s) before rolling back: nothing was changed",
            blockers=[blocker.as_dict() for blocker in blockers],
        )


def _account_number(root: HostRoot, change: AccountRecord) -> int | None:
    if change.kind == AccountKind.USER:
        user = accounts.find_user(root, change.name)
        return None if user is None else user.uid
    group = accounts.find_group(root, change.name)
    return None if group is None else group.gid


def _account_conflict(change: AccountRecord, current: int | None) -> repair.Problem:
    kind, name = change.kind, change.name
    return repair.Problem(
        f"{kind}:{name}".encode(),
        f"{kind} {name} is {current} now, neither {change.new} nor {change.old}: left as it is",
    )


def _restore_account(root: HostRoot, change: AccountRecord, report: RollbackReport) -> None:
    kind, name, old, new = change.kind, change.name, change.old, change.new
    user = kind == AccountKind.USER
    current = _account_number(root, change)
    if current == old:
        return
    if current != new:
        report.stats.problems.append(_account_conflict(change, current))
        return
    try:
        if user:
            accounts.renumber_user(root, name, old)
        else:
            accounts.renumber_group(root, name, old)
    except OperationFailed as error:
        report.stats.problems.append(repair.Problem(f"{kind}:{name}".encode(), error.message))
        return
    report.accounts.append(f"{kind} {name}: {new} -> {old}")
