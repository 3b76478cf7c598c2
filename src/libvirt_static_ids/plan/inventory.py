# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Reading a recorded VM inventory into the planner's model: tolerates anything, says why not.

The host writes it (``host.inventory``); the format is ``schemas/inventory.schema.json``.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from typing import Any

from libvirt_static_ids.files import acl
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.host.inventory import VERSION
from libvirt_static_ids.ids import MAX_ID
from libvirt_static_ids.plan import model


class Unusable(ValueError):
    """An inventory the planner cannot use; the message says why."""


def _int(data: Mapping[str, Any], key: str, where: str, top: int = MAX_ID) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise Unusable(f"{where}: {key} {value!r} is not a number in 0..{top}")
    return value


def _image(data: Any, where: str) -> model.Image:
    if not isinstance(data, dict) or not isinstance(data.get("path"), str) or not data["path"]:
        raise Unusable(f"{where}: a disk without a path")
    where = f"{where}, disk {data['path']!r}"
    readonly = bool(data.get("readonly", False))
    if "error" in data:
        return model.Image(data["path"], None, readonly)
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
    return model.Image(data["path"], meta, readonly)


def parse(host: str, text: str | None) -> tuple[int, list[model.Vm]]:
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
            model.Vm(
                key,
                item["name"],
                _int(item, "memory_mib", where, 1 << 40),
                bool(item.get("running", False)),
                tuple(_image(d, where) for d in disks),
            )
        )
    return free, vms
