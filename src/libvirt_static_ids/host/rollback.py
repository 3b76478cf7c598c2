# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Undo a run from its journal: entries exactly as before, then the account numbers.

Rollback is itself idempotent: entries already back are skipped, so an interrupted rollback
is finished by running it again. An entry someone else changed since is listed, never
overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import OperationFailed, PreflightRefused, UsageError
from libvirt_static_ids.files import repair
from libvirt_static_ids.host import account_database, accounts, downtime, processes, services
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.records import AccountKind, AccountRecord, StepRecord
from libvirt_static_ids.journal.runs import RunInfo, RunState
from libvirt_static_ids.journal.store import Journal, Store


class RollbackStatus(StrEnum):
    """A rollback that ran: clean, or with entries changed since and left as they are."""

    ROLLED_BACK = "rolled-back"
    WITH_CONFLICTS = "rolled-back-with-conflicts"


@dataclass
class RollbackReport:
    run: RunInfo
    stats: repair.RepairStats = field(default_factory=repair.RepairStats)
    accounts: list[str] = field(default_factory=list)
    domains: list[dict[str, Any]] = field(default_factory=list)  # started again (downtime)

    @property
    def clean(self) -> bool:
        return not self.stats.problems

    def as_dict(self) -> dict[str, Any]:
        extra = {"domains": self.domains} if self.domains else {}
        return {
            "command": "rollback",
            "run_id": self.run.run_id,
            "kind": self.run.kind,
            "status": RollbackStatus.ROLLED_BACK if self.clean else RollbackStatus.WITH_CONFLICTS,
            "accounts": self.accounts,
            "restored": self.stats.changed,
            "conflicts": [problem.as_dict() for problem in self.stats.problems],
            **extra,
        }


def _choose(store: Store, run_id: str | None) -> RunInfo:
    runs = store.runs()
    if run_id is not None:
        journal = store.open(run_id)
        return store.info(journal)
    candidates = [run for run in runs if run.state != RunState.ROLLED_BACK]
    if not candidates:
        raise UsageError(f"no run to roll back under {store.runs_dir}")
    return candidates[-1]


def rollback(
    root: HostRoot, run_id: str | None = None, *, restart: bool = True, proc: str = "/proc"
) -> RollbackReport:
    store = Store(root)
    if run_id is not None:
        store.open(run_id)  # a malformed or unknown RUN_ID is refused before anything is made
    with store.locked():
        run = _choose(store, run_id)
        account_changes = list(store.open(run.run_id).records_of(AccountRecord))
        _preflight(root, account_changes, proc)
        with store.taken_up(run.run_id, RunState.ROLLING_BACK) as journal:
            return _roll_back(root, run, journal, account_changes, restart=restart)


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


def _restore_account(root: HostRoot, change: AccountRecord, report: RollbackReport) -> None:
    kind, name, old, new = change.kind, change.name, change.old, change.new
    user = kind == AccountKind.USER
    current: int | None
    if user:
        found_user = accounts.find_user(root, name)
        current = None if found_user is None else found_user.uid
    else:
        found_group = accounts.find_group(root, name)
        current = None if found_group is None else found_group.gid
    if current == old:
        return
    if current != new:
        report.stats.problems.append(
            repair.Problem(
                f"{kind}:{name}".encode(),
                f"{kind} {name} is {current} now, neither {new} nor {old}: left as it is",
            )
        )
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
