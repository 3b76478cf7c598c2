# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The domain as the rolling plan sees it: hosts with their numbers, free memory and VMs.

Plain values, built from the directory's records (plan_input.py) or by a test or benchmark,
so planning and checking run without LDAP, libvirt or files. Memory is in MiB. A VM is
known by ``key`` (its UUID, else ``host/name``): names may repeat across hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import IdPair


@dataclass(frozen=True)
class Image:
    """One file disk of a VM, with the numeric owner, group, mode and ACL last recorded."""

    path: str
    meta: Metadata | None  # None: the host could not read it when it recorded
    readonly: bool = False


@dataclass(frozen=True)
class Vm:
    key: str
    name: str
    memory_mib: int
    running: bool
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Host:
    name: str
    ids: IdPair  # libvirt-qemu's numbers on this host now
    free_mib: int
    vms: tuple[Vm, ...] = ()

    @property
    def used_mib(self) -> int:
        return sum(vm.memory_mib for vm in self.vms if vm.running)


@dataclass(frozen=True)
class Options:
    """What the plan may assume about the storage and the hosts.

    ``honours_acls``: the NFS server decides by POSIX ACLs. Off by default, since a server
    that ignores them (nfs-ganesha's VFS FSAL decides by mode bits alone) would make an
    ACL bridge a silent no-op: bridges are then chmod-based and the checker reads mode bits.
    ``reserve_mib``: memory every host keeps free for itself.
    """

    honours_acls: bool = False
    reserve_mib: int = 0

    @property
    def bridge_mode(self) -> str:
        return "acl" if self.honours_acls else "chmod"


@dataclass(frozen=True)
class Domain:
    target: IdPair
    hosts: tuple[Host, ...]
    unplanned: tuple[tuple[str, str], ...] = field(default=())  # (host, why), left alone
