# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""libvirt facade (libvirt-python): domains, their disks, snapshots, managed save, migration.

The images a bridge widens are a domain's ``<disk type='file'>`` sources, as in
``virsh domblklist --details``: cdrom/floppy and ``<readonly/>`` files are read-only, network
disks are no files of ours, block and volume disks are refused by evacuate. libvirt-python is
imported when first used so the rest of the core runs without it.

Client-driven or peer-to-peer migration: see ``migrate``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

from libvirt_static_ids.errors import OperationFailed, UsageError

DEFAULT_URI = "qemu:///system"


# libvirt-python ships no type information (its generated hints are partly wrong: getInfo()
# is said to return a str). These are the parts of virDomain and virConnect the core calls,
# with what libvirt returns at run time.
class VirDomain(Protocol):
    def name(self) -> str: ...
    def UUIDString(self) -> str: ...
    def XMLDesc(self, flags: int = 0, /) -> str: ...
    def isActive(self) -> int: ...
    def state(self, flags: int = 0, /) -> list[int]: ...  # [state, reason]
    def resume(self) -> int: ...
    def isPersistent(self) -> int: ...
    def hasManagedSaveImage(self, flags: int = 0, /) -> int: ...
    def maxMemory(self) -> int: ...  # KiB
    def managedSave(self, flags: int = 0, /) -> int: ...
    def shutdown(self) -> int: ...
    def create(self) -> int: ...
    def migrateToURI3(self, dconnuri: str, params: dict[str, Any], flags: int = 0, /) -> int: ...
    def abortJob(self) -> int: ...
    def jobStats(self, flags: int = 0, /) -> dict[str, Any]: ...
    def autostart(self) -> int: ...
    def setAutostart(self, autostart: int, /) -> int: ...
    def listAllSnapshots(self, flags: int = 0, /) -> list[Any]: ...
    def snapshotCreateXML(self, xml: str, flags: int = 0, /) -> Any: ...
    def snapshotCurrent(self, flags: int = 0, /) -> Any: ...
    def hasCurrentSnapshot(self, flags: int = 0, /) -> int: ...
    def snapshotLookupByName(self, name: str, flags: int = 0, /) -> Any: ...


class VirConnect(Protocol):
    def lookupByName(self, name: str, /) -> VirDomain: ...
    def lookupByUUIDString(self, uuid: str, /) -> VirDomain: ...
    def listAllDomains(self, flags: int = 0, /) -> list[VirDomain]: ...
    def getInfo(self) -> list[Any]: ...  # [model, memory MiB, cpus, ...]
    def getFreeMemory(self) -> int: ...  # bytes
    def getMemoryStats(self, cellNum: int, flags: int = 0, /) -> dict[str, int]: ...
    def getCapabilities(self) -> str: ...
    def close(self) -> int: ...


def _libvirt() -> Any:
    try:
        import libvirt
    except ImportError as error:
        raise OperationFailed(
            "libvirt-python is not installed (pip libvirt-python, or Debian python3-libvirt)"
        ) from error
    return libvirt


def migrate_flags() -> int:
    """live, persistent on the destination, undefined on the source (the KB's virsh migrate),
    peer-to-peer (see ``migrate``) and auto-converge: a guest that dirties memory faster than
    the link copies it is throttled until the migration can finish, instead of running into
    ``--timeout``."""
    libvirt = _libvirt()
    return (
        libvirt.VIR_MIGRATE_LIVE
        | libvirt.VIR_MIGRATE_PEER2PEER
        | libvirt.VIR_MIGRATE_PERSIST_DEST
        | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
        | libvirt.VIR_MIGRATE_AUTO_CONVERGE
    )


def runs_unpaused(domain: VirDomain) -> bool:
    """Running, not paused: the state a failed migration must leave the guest in again."""
    return domain.state()[0] == _libvirt().VIR_DOMAIN_RUNNING


def resume_if_paused(domain: VirDomain) -> str | None:
    """Resume a guest that was running and that a failed migration left paused (libvirt
    pauses the source for the switch-over; a failure after that point can leave it so).
    None when it runs; otherwise why it could not be resumed."""
    libvirt = _libvirt()
    try:
        if domain.state()[0] != libvirt.VIR_DOMAIN_PAUSED:
            return None
        domain.resume()
    except libvirt.libvirtError as error:
        return f"it was left paused and does not resume: {error}"
    return None


def connect(uri: str) -> VirConnect:
    """An open connection; a URI libvirt refuses is bad input (exit 2)."""
    libvirt = _libvirt()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # no stderr noise
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as error:
        raise UsageError(f"--connect {uri!r}: {error}", option="--connect") from error


@dataclass(frozen=True)
class Disk:
    kind: str  # file | block | network | volume ...
    device: str  # disk | cdrom | floppy | lun
    source: str | None
    target: str | None
    readonly: bool = False
    shareable: bool = False
    format: str | None = None  # <driver type='qcow2'/>: how QEMU reads it (never probed)

    @property
    def is_image(self) -> bool:
        return self.kind == "file" and self.device == "disk" and bool(self.source)

    @property
    def writable(self) -> bool:
        """QEMU opens it read-write: a file disk, not ``<readonly/>``, no cdrom or floppy."""
        return self.is_image and not self.readonly


def disks(xml: str) -> list[Disk]:
    """Every ``<disk>`` of a VM's definition (libvirt's domain XML)."""
    import xml.etree.ElementTree as ET  # expat: only commands that read a VM's XML load it

    # The XML comes from libvirtd, which validated it; expat refuses entity bombs.
    tree = ET.fromstring(xml)  # noqa: S314
    found = []
    for disk in tree.iterfind("./devices/disk"):
        source = disk.find("source")
        target = disk.find("target")
        driver = disk.find("driver")
        found.append(
            Disk(
                disk.get("type", "file"),
                disk.get("device", "disk"),
                _source(source),
                target.get("dev") if target is not None else None,
                disk.find("readonly") is not None,
                disk.find("shareable") is not None,
                driver.get("type") if driver is not None else None,
            )
        )
    return found


def _source(source: ET.Element | None) -> str | None:
    """A file's path, a block device's, a pool/volume or a directory: what a disk names."""
    if source is None:
        return None
    if source.get("volume"):
        return f"{source.get('pool', '?')}/{source.get('volume')}"
    return source.get("file") or source.get("dev") or source.get("dir")


def host_devices(xml: str) -> list[str]:
    """The ``<hostdev>`` devices (PCI, SCSI...) of a definition: libvirt migrates none of them
    but USB ones."""
    import xml.etree.ElementTree as ET  # expat: loaded by the commands that read XML only

    tree = ET.fromstring(xml)  # noqa: S314
    return [
        f"{dev.get('type', '?')} hostdev"
        for dev in tree.iterfind("./devices/hostdev")
        if dev.get("type") != "usb"
    ]


def images_of_xml(xml: str) -> list[str]:
    return [disk.source for disk in disks(xml) if disk.is_image and disk.source]


def is_running(conn: VirConnect, name: str) -> bool:
    """Is the domain ``name`` active on this connection (a missing one is not)?"""
    libvirt = _libvirt()
    try:
        return bool(conn.lookupByName(name).isActive())
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return False
        raise


_BASELABEL = re.compile(r"^\+?(\d+):\+?(\d+)$")


def qemu_numbers(conn: VirConnect) -> tuple[int, int] | None:
    """UID and GID the host's QEMU processes run as, from its DAC security model.

    libvirt reports them in its capabilities (``<secmodel><model>dac</model>
    <baselabel type='kvm'>+64055:+64055</baselabel>``): the destination itself says which
    numbers its QEMU will open the images with.
    """
    import xml.etree.ElementTree as ET  # expat: loaded by the commands that read XML only

    tree = ET.fromstring(conn.getCapabilities())  # noqa: S314
    for model in tree.iterfind("./host/secmodel"):
        if (model.findtext("model") or "").strip() != "dac":
            continue
        for label in model.iterfind("baselabel"):
            matched = _BASELABEL.match((label.text or "").strip())
            if matched and label.get("type") in ("kvm", "qemu"):
                return int(matched.group(1)), int(matched.group(2))
    return None


def lookup(conn: VirConnect, name: str) -> VirDomain:
    libvirt = _libvirt()
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as error:
        raise UsageError(f"--vm {name!r}: no such VM ({error})", option="--vm") from error


def running(conn: VirConnect) -> list[VirDomain]:
    """The running domains, by name (a stable order for journals and resumes)."""
    return sorted(
        (d for d in conn.listAllDomains(0) if d.isActive()), key=lambda domain: domain.name()
    )


def all_vms(conn: VirConnect) -> list[VirDomain]:
    return sorted(conn.listAllDomains(0), key=lambda domain: domain.name())


# The migration seam: the one call that moves a running VM. The test driver cannot migrate,
# so tests pass their own function here and check the flags and URI it receives.
Migrate = Callable[[VirDomain, str, int, float | None], None]


def migrate(domain: VirDomain, dest_uri: str, flags: int, timeout: float | None = None) -> None:
    """``virsh migrate --live --p2p --persistent --undefinesource DOMAIN DEST``.

    Peer-to-peer: the source's libvirtd connects to ``dest_uri`` itself and drives every
    phase. Measured in the lab (tests/lab, a destination whose QEMU start was held for 6 s,
    the client killed -9 after 2.5 s): client-driven, libvirt cleaned up when the client's
    connections dropped, the guest stayed on the source, but the image kept the owner the
    destination had given it (libvirt restores no labels on shared storage); peer-to-peer,
    the migration completed and the guest ran on the destination. Client-driven, Finish and
    Confirm are the client's calls, so its death leaves the outcome to libvirt's clean-up
    rules; peer-to-peer the daemons finish what they started, whatever becomes of this
    process, and a rerun of evacuate finds a settled guest (tests/lab/
    test_evacuate_interrupted.py). The daemons need to reach each other (on UCS: TLS with
    the host certificates).

    ``timeout``: after that many seconds the job is aborted (``virDomainAbortJob``) and the VM
    stays where it was, running; virsh's own ``--timeout`` would pause the guest to force the
    switch-over instead.
    """
    libvirt = _libvirt()
    aborted, done = threading.Event(), threading.Event()

    def abort() -> None:
        # Until libvirt takes it: a job in a phase it cannot abort yet refuses at first.
        if timeout is None or done.wait(timeout):
            return
        aborted.set()
        while not done.is_set():
            try:
                domain.abortJob()
                return
            except libvirt.libvirtError:
                done.wait(0.5)

    watchdog = threading.Thread(target=abort, daemon=True)
    try:
        watchdog.start()
        domain.migrateToURI3(dest_uri, {}, flags)
    except libvirt.libvirtError as error:
        why = f"aborted after --timeout {timeout:g} s ({error})" if aborted.is_set() else error
        raise OperationFailed(
            f"migration of {domain.name()} to {dest_uri} failed: {why}"
        ) from error
    finally:
        done.set()
        watchdog.join()


def lookup_at(uri: str, name: str) -> tuple[VirConnect, VirDomain]:
    """A connection to ``uri`` and the domain ``name`` there (close the connection after)."""
    libvirt = _libvirt()
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as error:
        raise OperationFailed(f"cannot connect to {uri}: {error}") from error
    try:
        return conn, conn.lookupByName(name)
    except libvirt.libvirtError as error:
        conn.close()
        raise OperationFailed(f"{name} is not defined at {uri}: {error}") from error


def downtime_ms(domain: VirDomain) -> int | None:
    """The downtime libvirt measured for the domain's last migration (on the destination).
    Read with KEEP_COMPLETED: a plain read deletes the stats, and the admin's ``virsh
    domjobinfo --completed`` afterwards would find nothing."""
    libvirt = _libvirt()
    flags = libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED | libvirt.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED
    try:
        stats = domain.jobStats(flags)
    except libvirt.libvirtError:
        return None
    value = stats.get("downtime")
    return int(value) if isinstance(value, int) else None


@dataclass(frozen=True)
class Snapshots:
    """A domain's snapshot definitions, parents first, and which one is current."""

    xmls: tuple[str, ...]
    names: tuple[str, ...]
    current: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"xmls": list(self.xmls), "names": list(self.names), "current": self.current}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshots:
        return cls(tuple(data["xmls"]), tuple(data["names"]), data.get("current"))


def snapshots(domain: VirDomain) -> Snapshots:
    """Every snapshot's XML (``--security-info``), parents before children."""
    libvirt = _libvirt()
    found = {snap.getName(): snap for snap in domain.listAllSnapshots(0)}
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        try:
            parent = found[name].getParent().getName()
        except libvirt.libvirtError:
            parent = None
        if parent in found:
            visit(parent)
        ordered.append(name)

    for name in sorted(found):
        visit(name)
    current = domain.snapshotCurrent(0).getName() if domain.hasCurrentSnapshot(0) else None
    secure = libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE
    return Snapshots(
        tuple(found[name].getXMLDesc(secure) for name in ordered), tuple(ordered), current
    )


def drop_snapshot_metadata(domain: VirDomain, saved: Snapshots) -> None:
    """Delete libvirt's record of each snapshot, children first; their data stays on disk."""
    libvirt = _libvirt()
    for name in reversed(saved.names):
        domain.snapshotLookupByName(name, 0).delete(
            libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY
        )


def redefine_snapshots(domain: VirDomain, saved: Snapshots) -> None:
    """Define the saved snapshots again (where they are missing), the current one current."""
    libvirt = _libvirt()
    present = {snap.getName() for snap in domain.listAllSnapshots(0)}
    for name, xml in zip(saved.names, saved.xmls, strict=True):
        if name in present:
            continue
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
        if name == saved.current:
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
        domain.snapshotCreateXML(xml, flags)


def managed_save(domain: VirDomain) -> None:
    domain.managedSave(0)


def shutdown(domain: VirDomain) -> None:
    domain.shutdown()


def start(domain: VirDomain) -> None:
    domain.create()


def libvirt_error() -> type[Exception]:
    return _libvirt().libvirtError
