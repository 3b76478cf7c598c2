# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The metadata a migration bridge gives a file: ACL entries for foreign numbers, or mode 666.

Computed up front, exactly as the kernel will store it (ACL entries ordered, the mode's group
bits equal to the mask), so the journal holds the true before *and* after before anything is
touched, and closing can tell our change from someone else's.
"""

from __future__ import annotations

import stat
from dataclasses import replace
from enum import StrEnum

from libvirt_static_ids.files import acl
from libvirt_static_ids.files.metadata import Metadata

RW = 0o6
R = 0o4  # a read-only disk or a qcow2 backing file: never widened for writing
_PERMS = 0o777


class Mode(StrEnum):
    ACL = "acl"
    CHMOD = "chmod"


# The bridge mode when none is asked for, for ``bridge open``, ``evacuate`` and ``plan`` alike:
# ACL entries name only the numbers that need access; chmod makes an image world-writable.
DEFAULT_MODE = Mode.ACL


def _with_mode_bits(mode: int, user: int, group: int, other: int) -> int:
    return (mode & ~_PERMS) | (user << 6) | (group << 3) | other


def with_acl(before: Metadata, uid: int, gid: int, rights: int = RW) -> Metadata:
    """``user:UID:rw``, ``group:GID:rw`` (and the current owner's) added, mask recalculated.

    The mask becomes the union of the group class, as ``setfacl -m`` makes it.
    """
    merged: dict[tuple[int, int], int] = {}
    for tag, perm, ident in acl.access_entries(before.xattr(acl.ACCESS), before.mode):
        if tag != acl.MASK:
            merged[(tag, ident)] = perm
    merged[(acl.USER, uid)] = merged.get((acl.USER, uid), 0) | rights
    merged[(acl.GROUP, gid)] = merged.get((acl.GROUP, gid), 0) | rights
    # The destination's libvirt may re-own the file mid-migration (dynamic_ownership, where
    # root may chown): name today's owner and group too, so the source keeps its access.
    if before.uid not in (0, uid):
        merged[(acl.USER, before.uid)] = merged.get((acl.USER, before.uid), 0) | rights
    if before.gid not in (0, gid):
        merged[(acl.GROUP, before.gid)] = merged.get((acl.GROUP, before.gid), 0) | rights
    mask = 0
    for (tag, _), perm in merged.items():
        if tag in (acl.USER, acl.GROUP_OBJ, acl.GROUP):
            mask |= perm
    merged[(acl.MASK, acl.UNDEFINED_ID)] = mask
    items = [(tag, perm, ident) for (tag, ident), perm in sorted(merged.items())]
    user = merged[(acl.USER_OBJ, acl.UNDEFINED_ID)]
    other = merged[(acl.OTHER, acl.UNDEFINED_ID)]
    xattrs = dict(before.xattrs)
    xattrs[acl.ACCESS] = acl.encode(items)
    return replace(before, mode=_with_mode_bits(before.mode, user, mask, other)).with_xattrs(xattrs)


def with_chmod(before: Metadata, rights: int = RW) -> Metadata:
    """``chmod a+rw``: 666 for the usual 600/640/660 image; an ACL's mask follows the group bits."""
    mode = before.mode | (rights << 6) | (rights << 3) | rights
    value = before.xattr(acl.ACCESS)
    if value is None:
        return replace(before, mode=mode)
    items = acl.entries(value)
    # chmod sets the owner and other entries, and the mask (or, without one, the owning
    # group's entry) from the mode's three triplets.
    group_tag = acl.MASK if any(tag == acl.MASK for tag, _, _ in items) else acl.GROUP_OBJ
    triplet = {acl.USER_OBJ: (mode >> 6) & 7, group_tag: (mode >> 3) & 7, acl.OTHER: mode & 7}
    updated = [(tag, triplet.get(tag, perm), ident) for tag, perm, ident in items]
    xattrs = dict(before.xattrs)
    xattrs[acl.ACCESS] = acl.encode(updated)
    return replace(before, mode=mode).with_xattrs(xattrs)


def widen(before: Metadata, mode: Mode, uid: int, gid: int, rights: int = RW) -> Metadata:
    if not stat.S_ISREG(before.mode):
        raise ValueError("only regular files are bridged")
    return with_acl(before, uid, gid, rights) if mode == Mode.ACL else with_chmod(before, rights)


def widened_others(before: Metadata, after: Metadata, uid: int, gid: int) -> list[str]:
    """Named ACL entries (not ours) whose effective rights grow because the mask grew."""
    old_value, new_value = before.xattr(acl.ACCESS), after.xattr(acl.ACCESS)
    if old_value is None or new_value is None:
        return []
    old_mask = next((p for t, p, _ in acl.entries(old_value) if t == acl.MASK), 7)
    new_mask = next((p for t, p, _ in acl.entries(new_value) if t == acl.MASK), 7)
    found = []
    for tag, perm, ident in acl.entries(old_value):
        if (tag, ident) in ((acl.USER, uid), (acl.GROUP, gid)):
            continue
        if tag in (acl.USER, acl.GROUP, acl.GROUP_OBJ) and perm & new_mask != perm & old_mask:
            name = {acl.USER: "user", acl.GROUP: "group", acl.GROUP_OBJ: "group"}[tag]
            label = "" if tag == acl.GROUP_OBJ else str(ident)
            found.append(f"{name}:{label}")
    return found


def managed_parts(meta: Metadata) -> tuple[int, bytes | None]:
    """What a bridge changes and restores: permission bits and the access ACL, nothing else."""
    return stat.S_IMODE(meta.mode), meta.xattr(acl.ACCESS)


def restored(current: Metadata, before: Metadata) -> Metadata:
    """``current`` with the bridge's parts set back to ``before``; owner and other xattrs kept.

    An owner changed meanwhile (libvirt relabels the image on the destination) stays: the
    migrated VM needs it, and it is not ours to undo.
    """
    xattrs = dict(current.xattrs)
    value = before.xattr(acl.ACCESS)
    if value is None:
        xattrs.pop(acl.ACCESS, None)
    else:
        xattrs[acl.ACCESS] = value
    mode = (current.mode & ~0o7777) | stat.S_IMODE(before.mode)
    return replace(current, mode=mode).with_xattrs(xattrs)
