# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""libvirt facade (libvirt-python): domains, their disk images, managed save, migration.

The images a bridge widens are a domain's ``<disk type='file' device='disk'>`` sources, as in
``virsh domblklist --details``: cdrom/floppy files are read-only, network and block disks are
no files of ours. libvirt-python is imported when first used so the rest of the core runs
without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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
    def isPersistent(self) -> int: ...
    def hasManagedSaveImage(self, flags: int = 0, /) -> int: ...
    def maxMemory(self) -> int: ...  # KiB
    def managedSave(self, flags: int = 0, /) -> int: ...
    def shutdown(self) -> int: ...
    def create(self) -> int: ...
    def migrate3(
        self, dconn: VirConnect, params: dict[str, Any], flags: int = 0, /
    ) -> VirDomain: ...


class VirConnect(Protocol):
    def lookupByName(self, name: str, /) -> VirDomain: ...
    def lookupByUUIDString(self, uuid: str, /) -> VirDomain: ...
    def listAllDomains(self, flags: int = 0, /) -> list[VirDomain]: ...
    def getInfo(self) -> list[Any]: ...  # [model, memory MiB, cpus, ...]
    def getFreeMemory(self) -> int: ...  # bytes
    def getMemoryStats(self, cellNum: int, flags: int = 0, /) -> dict[str, int]: ...
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
    """live, persistent on the destination, undefined on the source (the KB's virsh migrate)."""
    libvirt = _libvirt()
    return (
        libvirt.VIR_MIGRATE_LIVE
        | libvirt.VIR_MIGRATE_PERSIST_DEST
        | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    )


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

    @property
    def is_image(self) -> bool:
        return self.kind == "file" and self.device == "disk" and bool(self.source)


def disks(xml: str) -> list[Disk]:
    """Every ``<disk>`` of a VM's definition (libvirt's domain XML)."""
    import xml.etree.ElementTree as ET  # expat: only commands that read a VM's XML load it

    # The XML comes from libvirtd, which validated it; expat refuses entity bombs.
    tree = ET.fromstring(xml)  # noqa: S314
    found = []
    for disk in tree.iterfind("./devices/disk"):
        source = disk.find("source")
        target = disk.find("target")
        found.append(
            Disk(
                disk.get("type", "file"),
                disk.get("device", "disk"),
                source.get("file") if source is not None else None,
                target.get("dev") if target is not None else None,
                disk.find("readonly") is not None,
            )
        )
    return found


def images_of_xml(xml: str) -> list[str]:
    return [disk.source for disk in disks(xml) if disk.is_image and disk.source]


def lookup(conn: VirConnect, name: str) -> VirDomain:
    libvirt = _libvirt()
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as error:
        raise UsageError(f"--vm {name!r}: no such VM ({error})", option="--vm") from error


def vm_images(conn: VirConnect, name: str) -> list[str]:
    return images_of_xml(lookup(conn, name).XMLDesc(0))


def running(conn: VirConnect) -> list[VirDomain]:
    """The running domains, by name (a stable order for journals and resumes)."""
    return sorted(
        (d for d in conn.listAllDomains(0) if d.isActive()), key=lambda domain: domain.name()
    )


def all_vms(conn: VirConnect) -> list[VirDomain]:
    return sorted(conn.listAllDomains(0), key=lambda domain: domain.name())


# The migration seam: the one call that moves a running VM. The test driver cannot migrate,
# so tests pass their own function here and check the flags and URI it receives.
Migrate = Callable[[VirDomain, str, int], None]


def migrate(domain: VirDomain, dest_uri: str, flags: int) -> None:
    """``virsh migrate --live --persistent --undefinesource --desturi DEST`` (client-driven)."""
    libvirt = _libvirt()
    try:
        destination = libvirt.open(dest_uri)
    except libvirt.libvirtError as error:
        raise OperationFailed(f"cannot connect to {dest_uri}: {error}") from error
    try:
        domain.migrate3(destination, {}, flags)
    except libvirt.libvirtError as error:
        raise OperationFailed(
            f"migration of {domain.name()} to {dest_uri} failed: {error}"
        ) from error
    finally:
        destination.close()


def managed_save(domain: VirDomain) -> None:
    domain.managedSave(0)


def shutdown(domain: VirDomain) -> None:
    domain.shutdown()


def start(domain: VirDomain) -> None:
    domain.create()


def libvirt_error() -> type[Exception]:
    return _libvirt().libvirtError
