# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A host's VM inventory: what the rolling plan needs to know about it, recorded in LDAP.

Each host records, with its numbers, its free memory and every defined VM (name, UUID,
memory, running or not, and each file disk with its numeric owner, group, mode and POSIX
ACL as the host sees them), so ``plan`` works from the directory alone, without SSH.

Written by the host (``collect`` + ``encode``, value of ``libvirtStaticIdsInventory``), read
by the planner (``plan.inventory``). The format is ``schemas/inventory.schema.json``.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from libvirt_static_ids.errors import StaticIdsError
from libvirt_static_ids.files import acl
from libvirt_static_ids.host import hypervisor

VERSION = 1
MIB = 1024 * 1024
# Free memory is recorded rounded down to this, so the record is not rewritten at every look.
FREE_GRANULE_MIB = 256
LIMIT = 512 * 1024  # bytes of JSON; a larger inventory is recorded as an error
_ALL_CELLS = -1  # VIR_NODE_MEMORY_STATS_ALL_CELLS


def _disk(path: str, readonly: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "readonly": readonly}
    try:
        st = os.stat(path)
        value = None
        try:
            value = os.getxattr(path, acl.ACCESS)
        except OSError as error:
            if error.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
    except OSError as error:
        name = errno.errorcode.get(error.errno or 0, "EIO")
        entry["error"] = f"{name}: {error.strerror or error}"
        return entry
    entry.update(uid=st.st_uid, gid=st.st_gid, mode=st.st_mode)
    if value is not None:
        entry["acl"] = [list(item) for item in acl.entries(value)]
    return entry


def _free_mib(conn: hypervisor.VirConnect) -> int:
    """Free memory as the kernel counts it usable: free + buffers + cached, else free."""
    try:
        stats = conn.getMemoryStats(_ALL_CELLS)
        kib = sum(int(stats.get(k, 0)) for k in ("free", "buffers", "cached"))
    except hypervisor.libvirt_error():
        kib = int(conn.getFreeMemory()) // 1024
    mib = kib // 1024
    return mib - mib % FREE_GRANULE_MIB


def collect(conn: hypervisor.VirConnect) -> dict[str, Any]:
    """The inventory of the host behind ``conn`` (its VMs, their disks, free memory)."""
    vms = []
    for domain in hypervisor.all_vms(conn):
        vms.append(
            {
                "name": domain.name(),
                "uuid": domain.UUIDString(),
                "memory_mib": -(-int(domain.maxMemory()) // 1024),
                "running": bool(domain.isActive()),
                "disks": [
                    _disk(disk.source, disk.readonly)
                    for disk in hypervisor.disks(domain.XMLDesc(0))
                    if disk.is_image and disk.source
                ],
            }
        )
    return {
        "version": VERSION,
        "free_mib": _free_mib(conn),
        "total_mib": int(conn.getInfo()[1]),
        "vms": vms,
    }


def collect_from(
    uri: str, connect: Callable[[str], hypervisor.VirConnect] = hypervisor.connect
) -> dict[str, Any]:
    """``collect`` through a connection of its own; a failure is recorded, not raised."""
    try:
        conn = connect(uri)
    except StaticIdsError as error:
        return {"version": VERSION, "error": error.message}
    try:
        return collect(conn)
    except (OSError, ValueError, hypervisor.libvirt_error()) as error:
        return {"version": VERSION, "error": f"reading the inventory from {uri}: {error}"}
    finally:
        conn.close()


def encode(inventory: Mapping[str, Any]) -> str:
    """Compact, key-sorted JSON (the same inventory gives the same bytes: no rewrite)."""
    text = json.dumps(inventory, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) <= LIMIT:
        return text
    too_big = {"version": VERSION, "error": f"inventory of {len(text.encode())} bytes is too big"}
    return json.dumps(too_big, sort_keys=True, separators=(",", ":"))
