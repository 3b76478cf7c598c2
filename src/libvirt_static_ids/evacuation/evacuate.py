# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Move every running VM off a host, live: bridge, probe, migrate, close; one VM at a time.

Each step is journaled before it is taken. The first failure stops the run with that VM still
running where it was (its bridge closed again); running ``evacuate`` again resumes: VMs already
gone are not running here any more, a bridge left open by a crash is closed first. After a
migration the bridge is closed with hand-over: each image is given to the target's numbers
(what libvirt's relabel on the destination does, and root_squash prevents) before its mode and
ACL go back, so the migrated VM keeps its access; where that chown is refused the bridge stays
open and the report says what to run on the NFS server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import OperationFailed, UsageError
from libvirt_static_ids.evacuation import probe
from libvirt_static_ids.evacuation.bridge import runs as bridge
from libvirt_static_ids.files.widen import Mode
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity
from libvirt_static_ids.journal.records import EvacuationRecord, EvacuationStep
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Journal, Store

_BRIDGE_MAY_BE_OPEN = (EvacuationStep.BRIDGE_OPEN, EvacuationStep.MIGRATE)


class VmStatus(StrEnum):
    """Where one VM of the evacuation is."""

    MIGRATED = "migrated"
    WOULD_MIGRATE = "would-migrate"
    FAILED = "failed"
    PENDING = "pending"  # not reached: the run stopped at an earlier VM


class EvacuateStatus(StrEnum):
    """The run's outcome; ``failed`` leaves every VM running somewhere."""

    EVACUATED = "evacuated"
    WOULD_EVACUATE = "would-evacuate"
    FAILED = "failed"
    NOTHING_TO_DO = "nothing-to-do"


@dataclass
class VmResult:
    name: str
    status: VmStatus
    images: list[str] = field(default_factory=list)
    bridge: str | None = None
    message: str | None = None
    advice: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "images": self.images,
            "bridge": self.bridge,
            "message": self.message,
            "advice": self.advice,
        }


@dataclass
class EvacuateReport:
    host: str
    target: str
    dest_uri: str
    identity: Identity
    dry_run: bool
    flags: int
    status: EvacuateStatus = EvacuateStatus.EVACUATED
    run_id: str | None = None
    resumed: bool = False
    domains: list[VmResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "evacuate",
            "host": self.host,
            "target": self.target,
            "dest_uri": self.dest_uri,
            "identity": self.identity.as_dict(),
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "resumed": self.resumed,
            "status": self.status,
            "flags": self.flags,
            "domains": [d.as_dict() for d in self.domains],
        }


def default_dest_uri(target: str) -> str:
    """The KB's ``--desturi qemu://$HOSTNAME.$DOMAINNAME/system``."""
    return f"qemu://{target}/system"


def _check_name(value: str, option: str) -> str:
    if not value or any(c in value for c in "/ \t\n:@?#") or value.startswith("-"):
        raise UsageError(f"{option} {value!r} is not a host name", option=option)
    return value


def evacuate(
    root: HostRoot,
    host: str,
    target: str,
    identity: Identity,
    *,
    connect_uri: str = hypervisor.DEFAULT_URI,
    dest_uri: str | None = None,
    mode: Mode = Mode.ACL,
    ttl: int = 3600,
    dry_run: bool = False,
    migrate: hypervisor.Migrate = hypervisor.migrate,
    vms: Sequence[str] | None = None,
) -> EvacuateReport:
    """``vms``: only these running VMs (by name), as a rollout sends them to ``target``;
    None: every running VM."""
    _check_name(host, "HOST")
    _check_name(target, "--to")
    if host == target:
        raise UsageError(f"--to {target!r} is the host being evacuated", option="--to")
    destination = dest_uri or default_dest_uri(target)
    report = EvacuateReport(
        host, target, destination, identity, dry_run, hypervisor.migrate_flags()
    )
    conn = hypervisor.connect(connect_uri)
    try:
        if dry_run:
            for domain in _chosen(hypervisor.running(conn), vms):
                images = hypervisor.images_of_xml(domain.XMLDesc(0))
                report.domains.append(VmResult(domain.name(), VmStatus.WOULD_MIGRATE, images))
            report.status = (
                EvacuateStatus.WOULD_EVACUATE if report.domains else EvacuateStatus.NOTHING_TO_DO
            )
            return report
        store = Store(root)
        params: dict[str, Any] = {
            "host": host,
            "target": target,
            "dest_uri": destination,
            "uid": identity.uid,
            "gid": identity.gid,
            "mode": str(mode),
        }
        if vms is not None:
            params["vms"] = list(vms)
        with store.locked(), store.run(RunKind.EVACUATE, params) as journal:
            report.run_id, report.resumed = journal.run_id, journal.resumed
            try:
                _run(store, journal, conn, report, mode=mode, ttl=ttl, migrate=migrate, vms=vms)
            finally:
                failed = report.status == EvacuateStatus.FAILED
                journal.set_state(
                    RunState.FAILED if failed else RunState.COMPLETE,
                    migrated=sum(d.status == VmStatus.MIGRATED for d in report.domains),
                )
        return report
    finally:
        conn.close()


def _chosen(
    domains: list[hypervisor.VirDomain], vms: Sequence[str] | None
) -> list[hypervisor.VirDomain]:
    return domains if vms is None else [d for d in domains if d.name() in vms]


def _vm_steps(journal: Journal) -> dict[str, EvacuationRecord]:
    """The last journaled step of each VM."""
    return {record.name: record for record in journal.records_of(EvacuationRecord)}


def _run(
    store: Store,
    journal: Journal,
    conn: hypervisor.VirConnect,
    report: EvacuateReport,
    *,
    mode: Mode,
    ttl: int,
    migrate: hypervisor.Migrate,
    vms: Sequence[str] | None = None,
) -> None:
    # A crash may have left a bridge open: close it (with hand-over if the VM already left).
    for name, record in _vm_steps(journal).items():
        if record.step in _BRIDGE_MAY_BE_OPEN and record.bridge:
            gone = name not in {d.name() for d in hypervisor.running(conn)}
            closed = bridge.close_locked(store, record.bridge, hand_over=gone)
            journal.record(EvacuationRecord(EvacuationStep.CLOSED, name, record.bridge))
            if not closed.ok:
                report.status = EvacuateStatus.FAILED
                report.domains.append(
                    VmResult(
                        name,
                        VmStatus.FAILED,
                        [],
                        record.bridge,
                        "its bridge did not close",
                        [f.advice for f in closed.files if f.advice],
                    )
                )
                return
    domains = _chosen(hypervisor.running(conn), vms)
    if not domains:
        report.status = (
            EvacuateStatus.NOTHING_TO_DO if not report.resumed else EvacuateStatus.EVACUATED
        )
        return
    for index, domain in enumerate(domains):
        result = VmResult(domain.name(), VmStatus.PENDING)
        report.domains.append(result)
        if not _one(store, journal, domain, result, report, mode=mode, ttl=ttl, migrate=migrate):
            report.status = EvacuateStatus.FAILED
            report.domains += [VmResult(d.name(), VmStatus.PENDING) for d in domains[index + 1 :]]
            return


def _one(
    store: Store,
    journal: Journal,
    domain: hypervisor.VirDomain,
    result: VmResult,
    report: EvacuateReport,
    *,
    mode: Mode,
    ttl: int,
    migrate: hypervisor.Migrate,
) -> bool:
    name = result.name
    result.images = hypervisor.images_of_xml(domain.XMLDesc(0))
    identity = report.identity
    if result.images:
        journal.record(EvacuationRecord(EvacuationStep.BRIDGE, name))
        opened, planned, names = bridge.prepare(
            identity, result.images, mode=mode, ttl=ttl, domain=name
        )
        opened = bridge.open_locked(store, opened, planned, names)
        result.bridge = opened.run_id
        if not opened.ok:
            result.status, result.message = VmStatus.FAILED, "the bridge did not open"
            result.advice = [f.advice for f in opened.files if f.advice]
            return False
        journal.record(EvacuationRecord(EvacuationStep.BRIDGE_OPEN, name, opened.run_id))
        # The QEMU process on the target runs with the group as its GID and in its groups.
        verdicts = probe.probe(Identity(identity.uid, identity.gid, (identity.gid,)), names)
        if not verdicts.all_ok:
            denied = [f"{v.path}: {v.errno}" for v in verdicts.verdicts if not v.ok]
            assert opened.run_id is not None  # open_locked journaled it as a run
            _close(store, journal, name, opened.run_id, hand_over=False)
            result.status = VmStatus.FAILED
            result.message = (
                f"as {identity} the images do not open read-write even with the bridge "
                f"({'; '.join(denied)}): the storage ignores it (an NFS server without ACL "
                "support? try --mode chmod); the VM stays here"
            )
            return False
    journal.record(EvacuationRecord(EvacuationStep.MIGRATE, name, result.bridge))
    try:
        migrate(domain, report.dest_uri, report.flags)
    except (OperationFailed, hypervisor.libvirt_error()) as error:
        if result.bridge:
            _close(store, journal, name, result.bridge, hand_over=False)
        result.status = VmStatus.FAILED
        result.message = f"migration failed: {getattr(error, 'message', error)}; the VM stays here"
        return False
    if result.bridge:
        closed = _close(store, journal, name, result.bridge, hand_over=True)
        if not closed.ok:
            result.status = VmStatus.FAILED
            result.message = (
                f"migrated, but its images could not be handed over to {identity}: the bridge "
                f"{result.bridge} stays open so the VM keeps running; then run "
                f"`bridge close {result.bridge} --hand-over`"
            )
            result.advice = [f.advice for f in closed.files if f.advice]
            return False
    journal.record(EvacuationRecord(EvacuationStep.DONE, name))
    result.status = VmStatus.MIGRATED
    return True


def _close(
    store: Store, journal: Journal, name: str, run_id: str, *, hand_over: bool
) -> bridge.BridgeReport:
    closed = bridge.close_locked(store, run_id, hand_over=hand_over)
    if closed.ok:
        journal.record(EvacuationRecord(EvacuationStep.CLOSED, name, run_id))
    return closed
