# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Would NFS let a numeric identity read and write a file? POSIX rules on recorded metadata.

The probe asks the real file system; this answers for files we only know from a journal, a
plan or a simulation: owner, then named users, then the group class (owning group and named
groups, masked; granted when one matching entry grants it all), then others.
"""

from __future__ import annotations

from libvirt_static_ids.files import acl
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import Identity

READ_WRITE = 0o6


def allows(meta: Metadata, identity: Identity, wanted: int = READ_WRITE) -> bool:
    """True when ``identity`` gets every bit of ``wanted`` on a file with ``meta``."""
    entries = acl.access_entries(meta.xattr(acl.ACCESS), meta.mode)
    perms = {(tag, ident): perm for tag, perm, ident in entries}
    mask = perms.get((acl.MASK, acl.UNDEFINED_ID), 7)
    if identity.uid == meta.uid:
        return perms.get((acl.USER_OBJ, acl.UNDEFINED_ID), 0) & wanted == wanted
    if (acl.USER, identity.uid) in perms:
        return perms[(acl.USER, identity.uid)] & mask & wanted == wanted
    groups = {identity.gid, *identity.groups}
    matching = [
        perm
        for (tag, ident), perm in perms.items()
        if (tag == acl.GROUP_OBJ and meta.gid in groups) or (tag == acl.GROUP and ident in groups)
    ]
    if matching:
        return any(perm & mask & wanted == wanted for perm in matching)
    return perms.get((acl.OTHER, acl.UNDEFINED_ID), 0) & wanted == wanted
