# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Which numbers move where, applied to one entry's metadata.

Owner and group are remapped independently: with 109->64055 for users and 114->64055 for
groups, 109:106 becomes 64055:106 and 110:110 stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from libvirt_static_ids.files import acl, libvirt_xattrs
from libvirt_static_ids.files.metadata import Metadata


@dataclass(frozen=True)
class IdMap:
    uids: Mapping[int, int] = field(default_factory=dict)
    gids: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def single(cls, from_uid: int, from_gid: int, to_uid: int, to_gid: int) -> IdMap:
        return cls(
            {from_uid: to_uid} if from_uid != to_uid else {},
            {from_gid: to_gid} if from_gid != to_gid else {},
        )

    def __bool__(self) -> bool:
        return bool(self.uids or self.gids)

    def apply(self, before: Metadata) -> Metadata | None:
        """The remapped metadata, or None when nothing in it names an old number."""
        xattrs = dict(before.xattrs)
        changed = False
        for name, value in before.xattrs:
            codec = acl.remap if name in acl.NAMES else libvirt_xattrs.remap
            new_value = codec(value, self.uids, self.gids)
            if new_value is not None:
                xattrs[name] = new_value
                changed = True
        uid = self.uids.get(before.uid, before.uid)
        gid = self.gids.get(before.gid, before.gid)
        if not changed and (uid, gid) == (before.uid, before.gid):
            return None
        return Metadata(uid, gid, before.mode, tuple(sorted(xattrs.items())))
