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
from libvirt_static_ids.host import accounts, downtime, processes, services
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.store import RunInfo, RunState, Store


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
        journal = store.open(run.run_id)
        account_changes = list(journal.records("account"))
        _preflight(account_changes, proc)
        journal.set_state(RunState.ROLLING_BACK)
        store.active_run = run.run_id
        report = RollbackReport(run)
        repair.undo(journal, report.stats)
        for change in reversed(account_changes):
            _restore_account(root, change, report)
        if account_changes:
            accounts.flush_name_caches(root)
            if restart and root.is_live and any(journal.records("step")):
                failure = services.restart_libvirtd()
                if failure:
                    report.stats.problems.append(repair.Problem(b"libvirtd", failure))
        report.domains = downtime.after_rollback(journal, run.params, report.stats)
        journal.set_state(
            RunState.ROLLED_BACK,
            restored=report.stats.changed,
            conflicts=len(report.stats.problems),
        )
        journal.close()
        return report


def _preflight(account_changes: list[dict[str, Any]], proc: str) -> None:
    """usermod must not renumber a user with running processes (``--prefix`` skips its check)."""
    for change in account_changes:
        if change["kind"] != "user":
            continue
        busy = processes.running_as(int(change["new"]), proc)
        if busy:
            blocker = host_survey.Blocker(
                host_survey.BlockerCode.PROCESSES_RUNNING,
                f"{len(busy)} process(es) run as UID {change['new']}: "
                + ", ".join(f"{p.pid} ({p.name})" for p in busy),
                tuple(p.pid for p in busy),
            )
            raise PreflightRefused(
                "processes run as the converted UID: nothing was changed",
                blockers=[blocker.as_dict()],
            )


def _restore_account(root: HostRoot, change: dict[str, Any], report: RollbackReport) -> None:
    kind, name, old, new = change["kind"], change["name"], int(change["old"]), int(change["new"])
    if kind == "user":
        user = accounts.find_user(root, name)
        current = None if user is None else user.uid
    else:
        group = accounts.find_group(root, name)
        current = None if group is None else group.gid
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
        if kind == "user":
            accounts.renumber_user(root, name, old)
        else:
            accounts.renumber_group(root, name, old)
    except OperationFailed as error:
        report.stats.problems.append(repair.Problem(f"{kind}:{name}".encode(), error.message))
        return
    report.accounts.append(f"{kind} {name}: {new} -> {old}")
