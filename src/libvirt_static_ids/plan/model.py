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


@dataclass(frozen=True, slots=True)
class Image:
    """One file disk of a VM, with the numeric owner, group, mode and ACL last recorded."""

    path: str
    meta: Metadata | None  # None: the host could not read it when it recorded
    readonly: bool = False


@dataclass(frozen=True, slots=True)
class Vm:
    key: str
    name: str
    memory_mib: int
    running: bool
    images: tuple[Image, ...] = ()


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    ids: IdPair  # libvirt-qemu's numbers on this host now
    free_mib: int
    vms: tuple[Vm, ...] = ()

    @property
    def used_mib(self) -> int:
        return sum(vm.memory_mib for vm in self.vms if vm.running)


# Memory a host keeps for itself beyond its guests' memory: the hypervisor, libvirtd, and
# QEMU's own overhead per guest (device emulation, video, I/O buffers). A host planned to 100%
# of its free memory swaps or has a guest killed by the OOM killer mid-migration.
DEFAULT_RESERVE_MIB = 2048
# Link bandwidth each host gives migrations: 10 Gbit/s in MiB/s.
DEFAULT_LINK_MIB_S = 1192
# A host's conversion: usermod/groupmod, libvirtd restart, repair of its files.
DEFAULT_CONVERT_S = 120
# Per migration beyond copying memory: bridge open and probe, switch-over, close.
DEFAULT_MIGRATION_OVERHEAD_S = 5
DEFAULT_MIGRATIONS_PER_HOST = 1
DEFAULT_MAX_PARALLEL_HOSTS = 20


@dataclass(frozen=True)
class Options:
    """What the plan may assume about the storage and the hosts, and how fast they are.

    ``honours_acls``: the NFS server decides by POSIX ACLs, so bridges are ACL entries (the
    ``acl`` mode, ``evacuate``'s default). Off, the server decides by mode bits alone
    (nfs-ganesha's VFS FSAL), an ACL bridge would be a silent no-op, so bridges chmod.
    ``reserve_mib``: memory every host keeps free for itself (0 here: the model is plain
    numbers; the commands default to DEFAULT_RESERVE_MIB).
    ``root_squash``: path prefixes of exports whose server squashes root: no libvirt relabels
    there, and the hand-over chown is the NFS server admin's step.
    The rest times the plan: each migration takes memory / (link / migrations_per_host) plus
    the overhead; at most ``max_parallel_hosts`` hosts are being emptied or converted at once.
    """

    honours_acls: bool = False
    reserve_mib: int = 0
    root_squash: tuple[str, ...] = ()
    link_mib_s: int = DEFAULT_LINK_MIB_S
    convert_s: int = DEFAULT_CONVERT_S
    migration_overhead_s: int = DEFAULT_MIGRATION_OVERHEAD_S
    migrations_per_host: int = DEFAULT_MIGRATIONS_PER_HOST
    max_parallel_hosts: int = DEFAULT_MAX_PARALLEL_HOSTS

    @property
    def bridge_mode(self) -> str:
        return "acl" if self.honours_acls else "chmod"

    def squashed(self, path: str) -> bool:
        """Is ``path`` on a root_squash export?"""
        return bool(self.root_squash) and any(
            path == p or path.startswith(p.rstrip("/") + "/") for p in self.root_squash
        )


@dataclass(frozen=True)
class Domain:
    target: IdPair
    hosts: tuple[Host, ...]
    unplanned: tuple[tuple[str, str], ...] = field(default=())  # (host, why), left alone
    holders: tuple[str, ...] = field(default=())  # DNs of LDAP objects holding the target
