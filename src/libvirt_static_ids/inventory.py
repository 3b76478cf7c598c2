# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A host's VM inventory: what the rolling plan needs to know about it, recorded in LDAP.

Each host records, with its numbers, its free memory and every defined VM (name, UUID,
memory, running or not, and each file disk with its numeric owner, group, mode and POSIX
ACL as the host sees them), so ``plan`` works from the directory alone, without SSH.

Written by the host (``collect`` + ``encode``, value of ``libvirtStaticIdsInventory``), read
by the planner (``parse``): reading tolerates anything, and says what it could not use.
The format is ``schemas/inventory.schema.json``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from . import acl, fleet, hypervisor
from .errors import StaticIdsError
from .ids import MAX_ID
from .metadata import Metadata

VERSION = 1
MIB = 1024 * 1024
# Free memory is recorded rounded down to this, so the record is not rewritten at every look.
FREE_GRANULE_MIB = 256
LIMIT = 512 * 1024  # bytes of JSON; a larger inventory is recorded as an error
_ALL_CELLS = -1  # VIR_NODE_MEMORY_STATS_ALL_CELLS


def _disks(xml: str) -> list[tuple[str, bool]]:
    """(path, readonly) of every ``<disk type='file' device='disk'>`` (cdroms are no images)."""
    found = []
    # The XML comes from libvirtd, which validated it; expat refuses entity bombs.
    for disk in ET.fromstring(xml).iterfind("./devices/disk"):  # noqa: S314
        source = disk.find("source")
        if disk.get("type", "file") != "file" or disk.get("device", "disk") != "disk":
            continue
        if source is not None and source.get("file"):
            found.append((source.get("file", ""), disk.find("readonly") is not None))
    return found


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


def _free_mib(conn: Any) -> int:
    """Free memory as the kernel counts it usable: free + buffers + cached, else free."""
    try:
        stats = conn.getMemoryStats(_ALL_CELLS)
        kib = sum(int(stats.get(k, 0)) for k in ("free", "buffers", "cached"))
    except hypervisor.libvirt_error():
        kib = int(conn.getFreeMemory()) // 1024
    mib = kib // 1024
    return mib - mib % FREE_GRANULE_MIB


def collect(conn: Any) -> dict[str, Any]:
    """The inventory of the host behind ``conn`` (its VMs, their disks, free memory)."""
    vms = []
    for domain in hypervisor.all_domains(conn):
        vms.append(
            {
                "name": domain.name(),
                "uuid": domain.UUIDString(),
                "memory_mib": -(-int(domain.maxMemory()) // 1024),
                "running": bool(domain.isActive()),
                "disks": [_disk(path, ro) for path, ro in _disks(domain.XMLDesc(0))],
            }
        )
    return {
        "version": VERSION,
        "free_mib": _free_mib(conn),
        "total_mib": int(conn.getInfo()[1]),
        "vms": vms,
    }


def collect_from(uri: str, connect: Callable[[str], Any] = hypervisor.connect) -> dict[str, Any]:
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


# -- reading -----------------------------------------------------------------------------------


class Unusable(ValueError):
    """An inventory the planner cannot use; the message says why."""


def _int(data: Mapping[str, Any], key: str, where: str, top: int = MAX_ID) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise Unusable(f"{where}: {key} {value!r} is not a number in 0..{top}")
    return value


def _image(data: Any, where: str) -> fleet.Image:
    if not isinstance(data, dict) or not isinstance(data.get("path"), str) or not data["path"]:
        raise Unusable(f"{where}: a disk without a path")
    where = f"{where}, disk {data['path']!r}"
    readonly = bool(data.get("readonly", False))
    if "error" in data:
        return fleet.Image(data["path"], None, readonly)
    mode = _int(data, "mode", where, 0o177777)
    if stat.S_IFMT(mode) == 0:
        mode |= stat.S_IFREG
    xattrs: tuple[tuple[str, bytes], ...] = ()
    if data.get("acl") is not None:
        entries = data["acl"]
        valid = isinstance(entries, list) and all(
            isinstance(e, list)
            and len(e) == 3
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in e)
            for e in entries
        )
        if not valid:
            raise Unusable(f"{where}: acl {entries!r:.80} is not a list of [tag, perm, id]")
        try:
            xattrs = ((acl.ACCESS, acl.encode([tuple(e) for e in entries])),)
        except Exception as error:  # struct.error: a number out of range
            raise Unusable(f"{where}: acl {entries!r:.80}: {error}") from error
    meta = Metadata(_int(data, "uid", where), _int(data, "gid", where), mode, xattrs)
    return fleet.Image(data["path"], meta, readonly)


def parse(host: str, text: str | None) -> tuple[int, list[fleet.Vm]]:
    """(free MiB, VMs) of a recorded inventory; Unusable says why it cannot be planned with."""
    if text is None:
        raise Unusable(
            "no VM inventory recorded: run `libvirt-static-ids record` there (needs libvirt)"
        )
    try:
        data = json.loads(text)
    except ValueError as error:
        raise Unusable(f"the inventory is not JSON ({error})") from error
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise Unusable(f"the inventory is not a version {VERSION} object")
    if "error" in data:
        raise Unusable(f"the host could not take its inventory: {data['error']}")
    free = _int(data, "free_mib", "inventory", 1 << 40)
    raw = data.get("vms")
    if not isinstance(raw, list):
        raise Unusable("the inventory has no list of VMs")
    vms = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise Unusable(f"a VM without a name: {item!r:.80}")
        where = f"VM {item['name']!r}"
        uuid = item.get("uuid")
        key = uuid if isinstance(uuid, str) and uuid else f"{host}/{item['name']}"
        disks = item.get("disks", [])
        if not isinstance(disks, list):
            raise Unusable(f"{where}: disks is not a list")
        vms.append(
            fleet.Vm(
                key,
                item["name"],
                _int(item, "memory_mib", where, 1 << 40),
                bool(item.get("running", False)),
                tuple(_image(d, where) for d in disks),
            )
        )
    return free, vms
