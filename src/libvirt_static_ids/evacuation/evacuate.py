# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Move every running VM off a host, live: bridge, probe, migrate, close; one VM at a time.

Before anything changes, every running VM is checked (``disks.plan``: local, block, shareable
disks, host devices, backing files) and the storage is asked whether root is squashed
(``probe.root_squashed``); the destination's numbers come from its own libvirt. Each step is
journaled before it is taken; snapshot definitions and autostart are journaled before they
are removed from the source (UVMM's way: save the XML, delete the metadata only, migrate,
redefine on the destination, or here again on failure).

A failed migration leaves the VM running here: its images get back the source's owner too
(libvirt does not restore labels on a shared file system, so the destination may have
re-owned them already), or, where that chown is refused, the bridge stays open and says so.
After a migration each image is handed over to the destination's numbers before its mode and
ACL go back; under root_squash only the NFS server's root can do that chown, so the bridge
stays open, the report prints the server's command, and the bridge's journal says the image
awaits it (``bridge close --expired`` retries, never narrowing the image before).

Ctrl-C, SIGTERM or kill -9 leave the run journaled as interrupted (never as done); running
``evacuate`` again resumes: each VM's bridge is closed for where the VM is now, its snapshots
and autostart put where it runs, and the VMs still here are moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from libvirt_static_ids.errors import OperationFailed, StaticIdsError, UsageError
from libvirt_static_ids.evacuation import disks, probe
from libvirt_static_ids.evacuation.bridge import runs as bridge
from libvirt_static_ids.evacuation.bridge.owner import Owner
from libvirt_static_ids.evacuation.report import (
    EvacuateReport,
    EvacuateStatus,
    IdentitySource,
    VmResult,
    VmStatus,
)
from libvirt_static_ids.files.widen import Mode
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity
from libvirt_static_ids.journal.records import EvacuationRecord, EvacuationStep
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Journal, Store

_UNSETTLED = (EvacuationStep.BRIDGE, EvacuationStep.BRIDGE_OPEN, EvacuationStep.MIGRATE)


def default_dest_uri(target: str) -> str:
    """The KB's ``--desturi qemu://$HOSTNAME.$DOMAINNAME/system`` (TLS, as UVMM)."""
    return f"qemu://{target}/system"


def _check_name(value: str, option: str) -> str:
    if not value or any(c in value for c in "/ \t\n:@?#") or value.startswith("-"):
        raise UsageError(f"{option} {value!r} is not a host name", option=option)
    return value


def destination_identity(
    dest_uri: str, given: Identity | None
) -> tuple[Identity, IdentitySource, list[str]]:
    """The numbers the destination's QEMU runs as: asked from its libvirt, ``--uid/--gid``
    checked against them (a typo would bridge the images for nobody)."""
    warnings: list[str] = []
    try:
        conn = hypervisor.connect(dest_uri)
    except UsageError as error:
        raise UsageError(
            f"--desturi {dest_uri!r}: cannot connect ({error.message})", option="--desturi"
        ) from error
    try:
        numbers = hypervisor.qemu_numbers(conn)
    finally:
        conn.close()
    if numbers is None:
        if given is None:
            raise UsageError(
                f"the destination {dest_uri} does not report its QEMU's numbers (no DAC "
                "security model): give --uid and --gid",
                option="--uid",
            )
        warnings.append(
            f"the destination does not report its QEMU's numbers: --uid {given.uid} --gid "
            f"{given.gid} are used unchecked"
        )
        return given, IdentitySource.COMMAND_LINE, warnings
    uid, gid = numbers
    if given is not None and (given.uid, given.gid) != (uid, gid):
        raise UsageError(
            f"--uid {given.uid} --gid {given.gid} do not match the destination: its QEMU runs "
            f"as {uid}:{gid} ({dest_uri}); nothing was changed",
            option="--uid",
        )
    return Identity(uid, gid), IdentitySource.DESTINATION, warnings


def evacuate(
    root: HostRoot,
    host: str,
    target: str,
    identity: Identity | None = None,
    *,
    connect_uri: str = hypervisor.DEFAULT_URI,
    dest_uri: str | None = None,
    mode: Mode = Mode.ACL,
    ttl: int = bridge.DEFAULT_TTL,
    timeout: float | None = None,
    dry_run: bool = False,
    migrate: hypervisor.Migrate = hypervisor.migrate,
    mountinfo: str = "/proc/self/mountinfo",
    vms: Sequence[str] | None = None,
) -> EvacuateReport:
    """``vms``: only these running VMs (by name), as a rollout sends them to ``target``;
    None: every running VM."""
    _check_name(host, "HOST")
    _check_name(target, "--to")
    if host == target:
        raise UsageError(f"--to {target!r} is the host being evacuated", option="--to")
    if timeout is not None and not 0 < timeout <= 7 * 24 * 3600:
        raise UsageError(f"--timeout {timeout!r} is not a number of seconds", option="--timeout")
    destination = dest_uri or default_dest_uri(target)
    numbers, source, warnings = destination_identity(destination, identity)
    report = EvacuateReport(
        host,
        target,
        destination,
        numbers,
        source,
        dry_run,
        hypervisor.migrate_flags(),
        timeout,
        warnings=warnings,
    )
    conn = hypervisor.connect(connect_uri)
    try:
        store = Store(root)
        params: dict[str, Any] = {
            "host": host,
            "target": target,
            "dest_uri": destination,
            "uid": numbers.uid,
            "gid": numbers.gid,
            "mode": str(mode),
        }
        if vms is not None:
            params["vms"] = list(vms)
        if dry_run:
            _preflight(store, conn, report, mountinfo, would=True, vms=vms)
            return report
        with store.locked():
            if not _settle_interrupted_bridges(store, conn, connect_uri, report):
                return report
            with store.run(RunKind.EVACUATE, params) as journal:
                context = _Context(store, journal, conn, report, connect_uri, mode, ttl, migrate)
                context.carry_out(mountinfo, vms)
        return report
    finally:
        conn.close()


def _settle_interrupted_bridges(
    store: Store, conn: hypervisor.VirConnect, connect_uri: str, report: EvacuateReport
) -> bool:
    """Close the bridges of this host's VMs whose open (or close) a crash interrupted, for
    where each VM runs now: an interrupted run must not block the evacuation's resume."""
    for info in store.runs():
        name = info.params.get("domain")
        if info.kind != RunKind.BRIDGE or info.state != RunState.INTERRUPTED:
            continue
        if not name or info.params.get("connect") != connect_uri:
            continue
        here = hypervisor.is_running(conn, name)
        closed = bridge.close_locked(
            store, info.run_id, owner=Owner.RESTORE if here else Owner.HAND_OVER
        )
        if not closed.ok:
            report.status = EvacuateStatus.FAILED
            report.domains.append(
                VmResult(
                    name,
                    VmStatus.FAILED if here else VmStatus.MIGRATED,
                    bridge=info.run_id,
                    message=f"the bridge {info.run_id} a crash left open did not close",
                    advice=[f.advice for f in closed.files if f.advice],
                )
            )
            return False
    return True


def _preflight(
    store: Store,
    conn: hypervisor.VirConnect,
    report: EvacuateReport,
    mountinfo: str,
    *,
    would: bool,
    vms: Sequence[str] | None = None,
) -> None:
    """Every running VM checked before the first change; any refusal refuses the run."""
    taken = {name: b["run_id"] for b in bridge.open_bridges(store.root) for name in b["files"]}
    for domain in hypervisor.running(conn):
        if vms is not None and domain.name() not in vms:
            continue
        planned = disks.plan(domain.XMLDesc(0), mountinfo)
        planned.refusals += [
            f"{name} is under the open bridge {taken[name]} already: close it first "
            f"(`bridge close {taken[name]}`)"
            for name in planned.files + planned.readable
            if name in taken
        ]
        result = VmResult(
            domain.name(),
            VmStatus.WOULD_MIGRATE if would else VmStatus.PENDING,
            planned.writable,
            planned.readonly,
            planned.readable,
            refusals=planned.refusals,
            autostart=bool(domain.autostart()),
        )
        result.snapshots = len(domain.listAllSnapshots(0))
        if planned.refusals:
            result.status = VmStatus.REFUSED
            result.message = "cannot be migrated: " + "; ".join(planned.refusals)
        report.domains.append(result)
    users: dict[str, list[str]] = {}
    for result in report.domains:
        for name in result.readonly:
            users.setdefault(name, []).append(result.name)
    for name, backed in users.items():
        if len(backed) > 1:
            report.warnings.append(
                f"{name} backs {', '.join(backed)}: the destination's libvirt gives it its "
                "numbers with the first of them, so evacuate them together"
            )
    squashed = probe.root_squashed([f for d in report.domains for f in d.images + d.readonly])
    report.root_squash = [v.path for v in squashed]
    if report.root_squash:
        report.warnings.append(
            "root is squashed on the storage of "
            + ", ".join(report.root_squash)
            + ": after each migration only the NFS server's root can give an image the "
            "destination's numbers; its bridge stays open until then (the command is printed)"
        )
    if any(d.status == VmStatus.REFUSED for d in report.domains):
        report.status = EvacuateStatus.REFUSED
    elif would:
        report.status = (
            EvacuateStatus.WOULD_EVACUATE if report.domains else EvacuateStatus.NOTHING_TO_DO
        )
    elif not report.domains:
        report.status = EvacuateStatus.EVACUATED if report.resumed else EvacuateStatus.NOTHING_TO_DO


class _Context:
    """One evacuation run's moving parts (so each step reads as one short method)."""

    def __init__(  # noqa: PLR0917 - one call site, each part named there
        self,
        store: Store,
        journal: Journal,
        conn: hypervisor.VirConnect,
        report: EvacuateReport,
        connect_uri: str,
        mode: Mode,
        ttl: int,
        migrate: hypervisor.Migrate,
    ) -> None:
        self.store, self.journal, self.conn, self.report = store, journal, conn, report
        self.connect_uri, self.mode, self.ttl, self.migrate = connect_uri, mode, ttl, migrate

    def carry_out(self, mountinfo: str, vms: Sequence[str] | None) -> None:
        """Resume what an interrupted run left, check, move; the run's end state last.

        No ``finally``: an exception (Ctrl-C, a crash) leaves the run "running", which reads
        as interrupted once the lock is gone, and the same command resumes it.
        """
        report, journal = self.report, self.journal
        report.run_id, report.resumed = journal.run_id, journal.resumed
        self.resume()
        if report.status == EvacuateStatus.FAILED:
            journal.set_state(RunState.FAILED, migrated=0, **self._kept())
            return
        _preflight(self.store, self.conn, report, mountinfo, would=False, vms=vms)
        if report.status != EvacuateStatus.REFUSED:
            self.move_all()
        failed = report.status in (EvacuateStatus.FAILED, EvacuateStatus.REFUSED)
        journal.set_state(
            RunState.FAILED if failed else RunState.COMPLETE,
            migrated=sum(d.status == VmStatus.MIGRATED for d in report.domains),
            awaiting=[a for d in report.domains for a in d.awaiting],
            **self._kept(),
        )

    # --- what the journal keeps besides the steps ------------------------------------------

    def _saved(self, key: str) -> dict[str, Any]:
        value = self.journal.stored_state()["summary"].get(key, {})
        return dict(value) if isinstance(value, dict) else {}

    def _kept(self) -> dict[str, Any]:
        """What the end state keeps: the snapshot XML (a redefine may have failed) and
        autostart, as journaled."""
        return {key: self._saved(key) for key in ("snapshots", "autostart") if self._saved(key)}

    def _save(self, key: str, name: str, value: Any) -> None:
        summary = dict(self.journal.stored_state()["summary"])
        summary[key] = {**self._saved(key), name: value}
        self.journal.set_state(RunState.RUNNING, **summary)

    # --- resume ----------------------------------------------------------------------------

    def resume(self) -> None:
        """Settle every VM an interrupted run left between steps."""
        last = {r.name: r for r in self.journal.records_of(EvacuationRecord)}
        for name, record in last.items():
            if record.step not in _UNSETTLED:
                continue
            here = hypervisor.is_running(self.conn, name)
            result = VmResult(name, VmStatus.FAILED if here else VmStatus.MIGRATED)
            self.report.domains.append(result)
            self._settle_snapshots(name, here)
            owner = Owner.RESTORE if here else Owner.HAND_OVER
            for run_id in self._bridges_of(name, record.bridge):
                result.bridge = run_id
                if not self._close(name, run_id, owner, result) and not result.awaiting:
                    self.report.status = EvacuateStatus.FAILED
                    return
            if here:
                result.status, result.message = VmStatus.PENDING, "resumed: still here"
                self.report.domains.remove(result)  # moved again below, from the start
            else:
                self.journal.record(EvacuationRecord(EvacuationStep.DONE, name))
                if result.awaiting:
                    self.report.status = EvacuateStatus.AWAITING_SERVER

    def _bridges_of(self, name: str, recorded: str | None) -> list[str]:
        """The open bridges of VM ``name`` (one whose open was interrupted is not recorded in
        this run yet: found by its VM and source)."""
        found = [
            info.run_id
            for info in self.store.runs()
            if info.kind == RunKind.BRIDGE
            and info.params.get("domain") == name
            and info.params.get("connect") == self.connect_uri
            and (
                info.state == RunState.INTERRUPTED
                or (info.state == RunState.COMPLETE and info.summary.get("bridge") == "open")
            )
        ]
        if recorded and recorded not in found:
            found.append(recorded)
        return found

    def _settle_snapshots(self, name: str, here: bool) -> None:
        saved = self._saved("snapshots").get(name)
        if saved:
            self._redefine(name, here, hypervisor.Snapshots.from_dict(saved))
        if not here and self._saved("autostart").get(name):
            self._autostart_there(name)

    # --- moving ----------------------------------------------------------------------------

    def move_all(self) -> None:
        for result in [d for d in self.report.domains if d.status == VmStatus.PENDING]:
            if not self._move(result):
                self.report.status = EvacuateStatus.FAILED
                return
            if result.awaiting:
                self.report.status = EvacuateStatus.AWAITING_SERVER

    def _move(self, result: VmResult) -> bool:
        name, identity = result.name, self.report.identity
        domain = self.conn.lookupByName(name)
        files = result.images + [f for f in result.readonly if f not in result.images]
        if files:
            self.journal.record(EvacuationRecord(EvacuationStep.BRIDGE, name))
            opened, planned, names = bridge.prepare(
                identity,
                files,
                mode=self.mode,
                ttl=self.ttl,
                domain=name,
                writable=result.images,
            )
            opened = bridge.open_locked(
                self.store,
                opened,
                planned,
                names,
                whereabouts={"connect": self.connect_uri, "dest_uri": self.report.dest_uri},
            )
            result.bridge = opened.run_id
            result.warnings += opened.warnings
            if not opened.ok:
                result.status, result.message = VmStatus.FAILED, "the bridge did not open"
                result.advice = [f.advice for f in opened.files if f.advice]
                return False
            assert opened.run_id is not None  # open_locked made it a run
            self.journal.record(EvacuationRecord(EvacuationStep.BRIDGE_OPEN, name, opened.run_id))
            # The QEMU process on the target runs with the group as its GID and in its groups.
            read = result.readonly + result.readable
            verdicts = probe.probe(
                Identity(identity.uid, identity.gid, (identity.gid,)), files + result.readable, read
            )
            if not verdicts.all_ok:
                denied = [f"{v.path}: {v.errno}" for v in verdicts.verdicts if not v.ok]
                self._close(name, opened.run_id, Owner.RESTORE, result)
                result.status = VmStatus.FAILED
                result.message = (
                    f"as {identity} the images do not open even with the bridge "
                    f"({'; '.join(denied)}): the storage ignores it (an NFS server without "
                    "ACL support? try --mode chmod); the VM stays here"
                )
                return False
        self._save("autostart", name, result.autostart)
        saved = hypervisor.snapshots(domain) if result.snapshots else None
        if saved:
            self._save("snapshots", name, saved.as_dict())  # journaled before it is deleted
        self.journal.record(EvacuationRecord(EvacuationStep.MIGRATE, name, result.bridge))
        was_running = hypervisor.runs_unpaused(domain)
        try:
            if saved:
                hypervisor.drop_snapshot_metadata(domain, saved)
            self.migrate(domain, self.report.dest_uri, self.report.flags, self.report.timeout)
        except (OperationFailed, hypervisor.libvirt_error()) as error:
            if saved:
                self._redefine(name, True, saved)
            result.status = VmStatus.FAILED
            result.message = (
                f"migration failed: {getattr(error, 'message', error)}; the VM stays here"
            )
            if result.bridge and not self._close(name, result.bridge, Owner.RESTORE, result):
                result.message += (
                    f"; its bridge {result.bridge} stays open, so the VM keeps its access"
                )
            # Only once its access is back: a guest resumed without it pauses on I/O error.
            if was_running and (stuck := hypervisor.resume_if_paused(domain)):
                result.message += f"; {stuck}"
            return False
        self._arrived(result, saved)
        handed = not result.bridge or self._close(name, result.bridge, Owner.HAND_OVER, result)
        if not handed and not result.awaiting:
            result.status = VmStatus.FAILED
            result.message = (
                f"migrated, but its images could not be handed over to {identity}: the "
                f"bridge {result.bridge} stays open so the VM keeps running"
            )
            return False
        self.journal.record(EvacuationRecord(EvacuationStep.DONE, name))
        result.status = VmStatus.MIGRATED
        return True

    def _close(self, name: str, run_id: str, owner: Owner, result: VmResult) -> bool:
        """Close a VM's bridge for where it runs; False (and why) if it stays open."""
        closed = bridge.close_locked(self.store, run_id, owner=owner)
        if closed.ok:
            self.journal.record(EvacuationRecord(EvacuationStep.CLOSED, name, run_id))
            return True
        result.advice += [f.advice for f in closed.files if f.advice]
        kept = [f for f in closed.files if f.status == bridge.FileStatus.KEPT]
        if owner == Owner.HAND_OVER and kept:
            # The VM runs on the destination; only a chown this host may not do is missing.
            result.awaiting = [{"path": f.path, "command": f.advice} for f in kept]
            result.message = (
                f"migrated; its bridge {run_id} stays open until the storage's root gives the "
                f"images to {self.report.identity} (root_squash): then `bridge close` (the "
                "timer's `bridge close --expired` retries by itself)"
            )
        return False

    def _redefine(self, name: str, here: bool, saved: hypervisor.Snapshots) -> None:
        """Snapshots back where the VM runs; a failure is reported, the XML stays journaled."""
        try:
            if here:
                hypervisor.redefine_snapshots(self.conn.lookupByName(name), saved)
                return
            conn, domain = hypervisor.lookup_at(self.report.dest_uri, name)
            try:
                hypervisor.redefine_snapshots(domain, saved)
            finally:
                conn.close()
        except (StaticIdsError, hypervisor.libvirt_error()) as error:
            self.report.warnings.append(
                f"{name}: its {len(saved.names)} snapshot(s) could not be redefined "
                f"{'here' if here else 'on ' + self.report.target} ({error}); their XML is "
                f"in run {self.journal.run_id}'s state.json"
            )

    def _arrived(self, result: VmResult, saved: hypervisor.Snapshots | None) -> None:
        """On the destination: snapshots redefined, autostart set, libvirt's downtime read."""
        if saved:
            self._redefine(result.name, False, saved)
        try:
            conn, domain = hypervisor.lookup_at(self.report.dest_uri, result.name)
            try:
                result.downtime_ms = hypervisor.downtime_ms(domain)
                if result.autostart:
                    domain.setAutostart(1)
            finally:
                conn.close()
        except (StaticIdsError, hypervisor.libvirt_error()) as error:
            self.report.warnings.append(f"{result.name}: not found on the destination ({error})")

    def _autostart_there(self, name: str) -> None:
        try:
            conn, domain = hypervisor.lookup_at(self.report.dest_uri, name)
            try:
                domain.setAutostart(1)
            finally:
                conn.close()
        except (StaticIdsError, hypervisor.libvirt_error()) as error:
            self.report.warnings.append(f"{name}: autostart not set on the destination ({error})")
