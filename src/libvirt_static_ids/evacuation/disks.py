# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What a VM's migration needs bridged, and what stops it before anything is changed.

Every file QEMU on the destination opens: file disks read-write, ``<readonly/>``, cdrom and
floppy files and every qcow2 backing file read-only (never widened for writing). Refused up
front, with the reason, what libvirt would refuse only after the bridge was opened or what no
bridge can serve: block and volume disks (no files of ours), a writable shareable disk (other
VMs write it too), a disk on a local file system (libvirt: "Migration without shared storage
is unsafe"), PCI/SCSI host devices (not migratable).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from libvirt_static_ids.errors import PreflightRefused
from libvirt_static_ids.evacuation import backing
from libvirt_static_ids.evacuation.bridge.bridged_file import SHARED_FS, mount_of
from libvirt_static_ids.host import hypervisor


@dataclass
class DiskPlan:
    """The files of one VM to bridge, and why it cannot move (empty: it can)."""

    writable: list[str] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)  # world-readable already: probed only
    refusals: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return self.writable + [f for f in self.readonly if f not in self.writable]

    def as_dict(self) -> dict[str, Any]:
        return {
            "writable": self.writable,
            "readonly": self.readonly,
            "readable": self.readable,
            "refusals": self.refusals,
        }


def _shared(path: str, mountinfo: str) -> str | None:
    """None if ``path`` is on a shared file system, else that file system's type."""
    found = mount_of(path, mountinfo)
    fstype = found[1] if found else "unknown"
    return None if fstype in SHARED_FS else fstype


def plan(xml: str, mountinfo: str = "/proc/self/mountinfo", *, shared: bool = True) -> DiskPlan:
    """The bridge a domain with this definition needs, or the reasons it cannot move.

    ``shared`` False (``bridge open --vm``): files on local file systems are bridged too.
    """
    result = DiskPlan()
    for device in hypervisor.host_devices(xml):
        result.refusals.append(f"it has a {device}: libvirt migrates no such device")
    for disk in hypervisor.disks(xml):
        where = disk.target or "?"
        if disk.kind == "network" or not disk.source:
            continue  # served by the network, or an empty cdrom drive
        if disk.kind != "file":
            result.refusals.append(
                f"disk {where} is a {disk.kind} disk ({disk.source}): only file images on "
                "shared storage are bridged"
            )
            continue
        name = os.path.realpath(disk.source)
        writable = disk.writable
        if writable and disk.shareable:
            result.refusals.append(
                f"disk {where} ({name}) is shareable and writable: other VMs write it too, it "
                "is not widened for writing"
            )
            continue
        local = _shared(name, mountinfo) if shared else None
        if local is not None and writable:
            result.refusals.append(
                f"disk {where} ({name}) is on a local file system ({local}): libvirt refuses "
                'to migrate it ("Migration without shared storage is unsafe")'
            )
            continue
        _add(result, name, writable)
        try:
            below = backing.chain(name, disk.format)
        except PreflightRefused as error:
            result.refusals.append(error.message)
            continue
        for layer in below:
            local = _shared(layer, mountinfo) if shared else None
            if local is not None:
                result.refusals.append(
                    f"disk {where}'s backing file {layer} is on a local file system ({local}): "
                    "the destination's QEMU could not open it"
                )
            else:
                _add(result, layer, False)
    return result


def _add(result: DiskPlan, name: str, writable: bool) -> None:
    if writable:
        target = result.writable
    else:
        # A file every UID may read (an ISO 0644) needs no bridge for reading.
        target = result.readable if os.stat(name).st_mode & stat.S_IROTH else result.readonly
    if name not in target:
        target.append(name)
