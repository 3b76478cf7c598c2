# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""libvirt's remembered-owner xattrs, which restore the old UID at VM shutdown if left alone."""

from __future__ import annotations

import re
from collections.abc import Mapping

DAC = "trusted.libvirt.security.dac"
REF_DAC = "trusted.libvirt.security.ref_dac"
NAMES = (DAC, REF_DAC)

_OWNER = re.compile(rb"^\+(\d+):\+(\d+)$")


def remap(value: bytes, uids: Mapping[int, int], gids: Mapping[int, int]) -> bytes | None:
    """A ``+UID:+GID`` value with its numbers remapped, or None when nothing changes.

    Other values (``ref_dac`` holds a reference count) are left as they are.
    """
    match = _OWNER.match(value)
    if match is None:
        return None
    uid, gid = int(match[1]), int(match[2])
    new_uid, new_gid = uids.get(uid, uid), gids.get(gid, gid)
    if (new_uid, new_gid) == (uid, gid):
        return None
    return b"+%d:+%d" % (new_uid, new_gid)
