# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""POSIX ACLs in the kernel's xattr form, remapped by numeric ID.

The ``system.posix_acl_*`` value is a little-endian header (version 2) followed by
(tag: u16, perm: u16, id: u32) entries; working on it directly needs no libacl and keeps
every entry (and its order) exactly as it was except the IDs we remap.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

ACCESS = "system.posix_acl_access"
DEFAULT = "system.posix_acl_default"
NAMES = (ACCESS, DEFAULT)

_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
_VERSION = 2
# Entry tags (linux/posix_acl.h); the owner, owning group, mask and other entries carry no ID.
USER_OBJ = 0x01
USER = 0x02
GROUP_OBJ = 0x04
GROUP = 0x08
MASK = 0x10
OTHER = 0x20
UNDEFINED_ID = 0xFFFFFFFF


def entries(value: bytes) -> list[tuple[int, int, int]]:
    """(tag, perm, id) of every entry; ValueError when the value is no ACL."""
    if len(value) < _HEADER.size or (len(value) - _HEADER.size) % _ENTRY.size:
        raise ValueError("not a POSIX ACL xattr value")
    (version,) = _HEADER.unpack_from(value)
    if version != _VERSION:
        raise ValueError(f"unknown POSIX ACL xattr version {version}")
    return list(_ENTRY.iter_unpack(value[_HEADER.size :]))


def access_entries(value: bytes | None, mode: int) -> list[tuple[int, int, int]]:
    """The access ACL ``value``, or without one the three entries the mode bits stand for."""
    if value is not None:
        return entries(value)
    return [
        (USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID),
        (GROUP_OBJ, (mode >> 3) & 7, UNDEFINED_ID),
        (OTHER, mode & 7, UNDEFINED_ID),
    ]


def encode(items: list[tuple[int, int, int]]) -> bytes:
    return _HEADER.pack(_VERSION) + b"".join(_ENTRY.pack(*item) for item in items)


def remap(value: bytes, uids: Mapping[int, int], gids: Mapping[int, int]) -> bytes | None:
    """The value with named user/group entries moved to new IDs, or None if none named them.

    Where the new ID already has an entry of its own, the two merge (their permissions
    OR-ed): the kernel refuses an ACL that names one ID twice.
    """
    try:
        items = entries(value)
    except ValueError:
        return None
    maps = {USER: uids, GROUP: gids}
    if not any(tag in maps and ident in maps[tag] for tag, _, ident in items):
        return None
    merged: dict[tuple[int, int], int] = {}
    for tag, perm, ident in items:
        key = (tag, maps[tag].get(ident, ident) if tag in maps else ident)
        merged[key] = merged.get(key, 0) | perm
    # The kernel wants entries ordered by tag, named ones by ascending ID.
    return encode([(tag, perm, ident) for (tag, ident), perm in sorted(merged.items())])
