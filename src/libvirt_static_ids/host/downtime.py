# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The KB's downtime path: stop the host's running VMs, convert, start them under the new numbers.

``convert --suspend-vms`` (managed save) or ``--shutdown-vms`` (ACPI, bounded wait) hands a
Stopper to convert.convert, which calls it inside its own journaled run: ``stop`` once the run
is begun, ``finish`` after the accounts are renumbered and libvirt's trees repaired. Every
domain is journaled (op ``domain``) before it is stopped or started, so a resumed convert starts
the domains an interrupted run stopped, and rollback starts them again. A domain is never
destroyed: one that does not stop in time ends the run with the others started again, and one
that does not come back is reported with its definition and managed-save image left intact.

The images of the stopped domains usually live on shared storage, outside the repair's one
file system: they are remapped here, exactly those files, from this host's old numbers.
Managed-save images (``var/lib/libvirt/qemu/save``) lie inside the convert scope; they are
named here as well, so a save directory on another file system is not missed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import OperationFailed, PreflightRefused, UsageError
from libvirt_static_ids.files import repair, repair_run
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.host import accounts, hypervisor, processes
from libvirt_static_ids.host.survey import Blocker, BlockerCode
from libvirt_static_ids.hostroot import CONVERT_SCOPE, HostRoot
from libvirt_static_ids.ids import ACCOUNT_NAME, IdPair
from libvirt_static_ids.journal.records import DowntimeRecord, DowntimeStep
from libvirt_static_ids.journal.runs import RunState
from libvirt_static_ids.journal.store import Journal

_STARTING = (DowntimeStep.START, DowntimeStep.STARTED, DowntimeStep.START_FAILED)

SAVE_DIR = "var/lib/libvirt/qemu/save"
DEFAULT_TIMEOUT = 300.0
MAX_TIMEOUT = 24 * 3600.0
PROCESS_GRACE = 30.0  # QEMU may take a moment to exit after libvirt says the domain stopped
_POLL = 0.2
# What stopping the domains resolves; every other blocker still refuses the conversion.
RESOLVED_BY_STOPPING = frozenset({BlockerCode.PROCESSES_RUNNING})


class How(StrEnum):
    SUSPEND = "suspend"  # virsh managedsave
    SHUTDOWN = "shutdown"  # virsh shutdown (ACPI power button), waited for


def parse_timeout(text: str | float | None) -> float:
    """Seconds to wait for an ACPI shutdown; bad input names the value (exit 2)."""
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_TIMEOUT:
        raise UsageError(
            f"--shutdown-timeout {text!r} is not a number of seconds (1..{int(MAX_TIMEOUT)})",
            option="--shutdown-timeout",
        )
    return value


class OutcomeStatus(StrEnum):
    """Where one of the stopped (or to be stopped) domains is."""

    WOULD_STOP = "would-stop"
    STOPPED = "stopped"
    STARTED = "started"
    ALREADY_RUNNING = "already-running"
    FAILED = "failed"
    STILL_RUNNING = "still-running"


@dataclass
class VmOutcome:
    name: str
    uuid: str
    status: OutcomeStatus
    images: list[str] = field(default_factory=list)
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uuid": self.uuid,
            "status": self.status,
            "images": self.images,
            "message": self.message,
        }


def save_file(root: HostRoot, name: str) -> str:
    """Where libvirt's QEMU driver keeps the managed-save image of ``name``."""
    return root.join(f"{SAVE_DIR}/{name}.save")


def in_convert_scope(root: HostRoot, path: str) -> bool:
    """True when ``path`` lies below one of the trees a conversion repairs."""
    real = os.path.abspath(path)
    return any(real.startswith(root.join(top).rstrip("/") + "/") for top in CONVERT_SCOPE)


@dataclass
class Stopper:
    """Stops and starts this host's running domains within one convert run."""

    how: How
    uri: str = hypervisor.DEFAULT_URI
    timeout: float = DEFAULT_TIMEOUT
    grace: float = PROCESS_GRACE
    conn: hypervisor.VirConnect | None = (
        None  # an open connection (tests); else opened on first use
    )
    outcomes: dict[str, VmOutcome] = field(default_factory=dict)
    untouched: list[str] = field(default_factory=list)  # saved earlier by someone else
    clock: Callable[[], float] = time.monotonic
    _owned: bool = field(default=False, init=False, repr=False)

    # -- what convert asks -------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """Journaled with the run: a resume or rollback reaches the same libvirt."""
        return {"how": self.how.value, "uri": self.uri, "timeout": self.timeout}

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> Stopper | None:
        if not params:
            return None
        return cls(How(params["how"]), params["uri"], float(params["timeout"]))

    @staticmethod
    def blocking(blockers: Sequence[Blocker]) -> list[Blocker]:
        """The blockers stopping the VMs does not resolve."""
        return [b for b in blockers if b.code not in RESOLVED_BY_STOPPING]

    @property
    def failed(self) -> bool:
        return any(o.status == OutcomeStatus.FAILED for o in self.outcomes.values())

    def steps(self, steps: list[str]) -> list[str]:
        verb = "managedsave" if self.how == How.SUSPEND else "shutdown (ACPI, wait)"
        names = ", ".join(o.name for o in self.outcomes.values()) or "(none running)"
        return [
            f"{verb} the running domains: {names}",
            *steps,
            f"remap the stopped domains' images; start {names}",
        ]

    def report(self) -> dict[str, Any]:
        return {
            "how": self.how.value,
            "uri": self.uri,
            "domains": [o.as_dict() for o in self.outcomes.values()],
            "untouched_saved": self.untouched,
        }

    # -- libvirt -----------------------------------------------------------------------------

    def connection(self) -> hypervisor.VirConnect:
        if self.conn is None:
            self.conn = hypervisor.connect(self.uri)
            self._owned = True
        return self.conn

    def close(self) -> None:
        if self._owned and self.conn is not None:
            self.conn.close()
        self.conn, self._owned = None, False

    def _find(self, uuid: str) -> hypervisor.VirDomain | None:
        try:
            return self.connection().lookupByUUIDString(uuid)
        except hypervisor.libvirt_error():
            return None

    def preview(self) -> None:
        """Dry run: the domains that would be stopped, and transient ones that refuse it."""
        for domain in hypervisor.running(self.connection()):
            self._check_persistent(domain)
            images = hypervisor.images_of_xml(domain.XMLDesc(0))
            self.outcomes[domain.UUIDString()] = VmOutcome(
                domain.name(), domain.UUIDString(), OutcomeStatus.WOULD_STOP, images
            )

    @staticmethod
    def _check_persistent(domain: hypervisor.VirDomain) -> None:
        if not domain.isPersistent():
            raise PreflightRefused(
                f"VM {domain.name()!r} is transient: stopping it would lose it; define it "
                "persistently (virsh dumpxml | virsh define) or migrate it first. Nothing changed",
                domain=domain.name(),
            )

    # -- the stop phase ------------------------------------------------------------------------

    def stop(self, journal: Journal, source: IdPair, proc: str = "/proc") -> None:
        """Stop every running domain (journaled first); on resume only what is left to stop.

        Once the start phase has begun (a run interrupted while starting), nothing is
        stopped again: the domains running now already run under the new numbers.
        """
        records = list(journal.records_of(DowntimeRecord))
        starting = any(r.step in _STARTING for r in records)
        for record in records:
            if record.step == DowntimeStep.STOP:
                self.outcomes[record.uuid] = VmOutcome(
                    record.name, record.uuid, OutcomeStatus.STOPPED, list(record.images or ())
                )
        if starting:
            return
        conn = self.connection()
        running = hypervisor.running(conn)
        try:
            for domain in running:
                self._check_persistent(domain)
        except PreflightRefused:
            journal.set_state(RunState.ROLLED_BACK, downtime="refused")
            raise
        self.untouched = sorted(
            d.name()
            for d in hypervisor.all_vms(conn)
            if not d.isActive() and d.hasManagedSaveImage(0) and d.UUIDString() not in self.outcomes
        )
        for domain in running:
            uuid = domain.UUIDString()
            images = hypervisor.images_of_xml(domain.XMLDesc(0))
            journal.record(
                DowntimeRecord(
                    DowntimeStep.STOP, domain.name(), uuid, how=self.how.value, images=tuple(images)
                )
            )
            self.outcomes[uuid] = VmOutcome(domain.name(), uuid, OutcomeStatus.STOPPED, images)
            problem = self._stop_one(domain)
            if problem:
                self._abandon(journal, problem, domain.name())
            journal.record(DowntimeRecord(DowntimeStep.STOPPED, domain.name(), uuid))
        self._wait_for_processes(journal, source, proc)

    def _stop_one(self, domain: hypervisor.VirDomain) -> str | None:
        """None once the VM is off; else why it is still running (never destroyed)."""
        error = hypervisor.libvirt_error()
        try:
            if self.how == How.SUSPEND:
                hypervisor.managed_save(domain)
            else:
                hypervisor.shutdown(domain)
        except error as failure:
            return f"{self.how.value} of {domain.name()} failed: {failure}"
        deadline = self.clock() + (self.timeout if self.how == How.SHUTDOWN else self.grace)
        while domain.isActive():
            if self.clock() >= deadline:
                return (
                    f"{domain.name()} did not shut down within {self.timeout:g} s "
                    "(it was not destroyed; it keeps running)"
                )
            time.sleep(_POLL)
        return None

    def _wait_for_processes(self, journal: Journal, source: IdPair, proc: str) -> None:
        deadline = self.clock() + self.grace
        while busy := processes.running_as(source.uid, proc):
            if self.clock() >= deadline:
                listed = ", ".join(f"{p.pid} ({p.name})" for p in busy)
                blocker = Blocker(
                    BlockerCode.PROCESSES_RUNNING,
                    f"{len(busy)} process(es) still run as UID {source.uid} with the VMs "
                    f"stopped: {listed}",
                    tuple(p.pid for p in busy),
                )
                self._abandon(journal, blocker.message, None, blocker)
            time.sleep(_POLL)

    def _abandon(
        self, journal: Journal, problem: str, stuck: str | None, blocker: Blocker | None = None
    ) -> None:
        """Start again what was stopped, close the run as undone, and raise."""
        for outcome in self.outcomes.values():
            if outcome.name == stuck:
                outcome.status, outcome.message = OutcomeStatus.STILL_RUNNING, problem
        self._start_all(journal)
        self.close()
        journal.set_state(RunState.ROLLED_BACK, downtime="abandoned", reason=problem)
        started = [o.name for o in self.outcomes.values() if o.status == OutcomeStatus.STARTED]
        tail = f"; started again: {', '.join(started)}" if started else ""
        details = {"domains": [o.as_dict() for o in self.outcomes.values()]}
        if blocker is not None:
            raise PreflightRefused(
                f"{problem}: nothing was converted{tail}",
                blockers=[blocker.as_dict()],
                **details,
            )
        raise OperationFailed(f"{problem}: nothing was converted{tail}", **details)

    # -- the start phase -----------------------------------------------------------------------

    def finish(
        self,
        journal: Journal,
        root: HostRoot,
        source: IdPair,
        target: IdPair,
        stats: repair.RepairStats,
    ) -> None:
        """Remap the stopped domains' images and save files (once renumbered), start them."""
        if self._renumbered(root, target):
            tops = self._files_to_remap(root)
            if tops:
                idmap = IdMap.single(source.uid, source.gid, target.uid, target.gid)
                more = repair_run.remap_paths(journal, tops, idmap, resumed=False)
                stats.scanned += more.scanned
                stats.changed += more.changed
                stats.problems += more.problems
        self._start_all(journal)
        self.close()

    @staticmethod
    def _renumbered(root: HostRoot, target: IdPair) -> bool:
        user = accounts.find_user(root, ACCOUNT_NAME)
        group = accounts.find_group(root, ACCOUNT_NAME)
        return bool(user and group and IdPair(user.uid, group.gid) == target)

    def _files_to_remap(self, root: HostRoot) -> list[bytes]:
        paths: list[str] = []
        for outcome in self.outcomes.values():
            paths += outcome.images
            paths.append(save_file(root, outcome.name))
        existing = [p for p in dict.fromkeys(paths) if os.path.lexists(p)]
        return [os.fsencode(os.path.abspath(p)) for p in existing]

    def _start_all(self, journal: Journal) -> None:
        started = {
            r.uuid for r in journal.records_of(DowntimeRecord) if r.step == DowntimeStep.STARTED
        }
        for uuid, outcome in self.outcomes.items():
            if uuid in started:
                outcome.status = OutcomeStatus.STARTED
                continue
            if outcome.status == OutcomeStatus.STILL_RUNNING:
                continue  # it never stopped: nothing to start
            self._start_one(journal, uuid, outcome)

    def _start_one(self, journal: Journal, uuid: str, outcome: VmOutcome) -> None:
        domain = self._find(uuid)
        if domain is None:
            outcome.status = OutcomeStatus.FAILED
            outcome.message = f"VM {outcome.name} ({uuid}) is no longer defined"
            journal.record(DowntimeRecord(DowntimeStep.START_FAILED, outcome.name, uuid))
            return
        if domain.isActive():
            outcome.status = OutcomeStatus.ALREADY_RUNNING
            journal.record(DowntimeRecord(DowntimeStep.STARTED, outcome.name, uuid))
            return
        journal.record(DowntimeRecord(DowntimeStep.START, outcome.name, uuid))
        try:
            hypervisor.start(domain)
            if not domain.isActive():
                raise OperationFailed("libvirt reports it is not running")
        except (hypervisor.libvirt_error(), OperationFailed) as error:
            saved = domain.hasManagedSaveImage(0)
            outcome.status = OutcomeStatus.FAILED
            outcome.message = (
                f"did not start: {getattr(error, 'message', None) or error}; left as it is"
                + (" (its managed-save image is kept)" if saved else "")
                + f"; start it with `virsh start {outcome.name}` once fixed"
            )
            journal.record(
                DowntimeRecord(
                    DowntimeStep.START_FAILED, outcome.name, uuid, message=outcome.message
                )
            )
            return
        outcome.status = OutcomeStatus.STARTED
        outcome.message = None
        journal.record(DowntimeRecord(DowntimeStep.STARTED, outcome.name, uuid))


def stopped_by(journal: Journal) -> list[DowntimeRecord]:
    """The domains a run stopped and never started again (for rollback)."""
    pending: dict[str, DowntimeRecord] = {}
    for record in journal.records_of(DowntimeRecord):
        if record.step == DowntimeStep.STOP:
            pending[record.uuid] = record
        elif record.step == DowntimeStep.STARTED:
            pending.pop(record.uuid, None)
    return list(pending.values())


def after_rollback(
    journal: Journal, params: dict[str, Any], stats: repair.RepairStats
) -> list[dict[str, Any]]:
    """Start the domains a rolled-back run stopped and left stopped; their outcomes."""
    stopper = Stopper.from_params(params.get("downtime"))
    left = stopped_by(journal)
    if stopper is None or not left:
        return []
    try:
        for record in left:
            outcome = VmOutcome(
                record.name, record.uuid, OutcomeStatus.STOPPED, list(record.images or ())
            )
            stopper.outcomes[record.uuid] = outcome
            stopper._start_one(journal, record.uuid, outcome)
            if outcome.status == OutcomeStatus.FAILED:
                problem = repair.Problem(f"domain:{outcome.name}".encode(), outcome.message or "")
                stats.problems.append(problem)
    except UsageError as error:  # libvirt unreachable: say so, the rollback itself stands
        stats.problems.append(repair.Problem(b"libvirt", error.message))
    finally:
        stopper.close()
    return [o.as_dict() for o in stopper.outcomes.values()]
