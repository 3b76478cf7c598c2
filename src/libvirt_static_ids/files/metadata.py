# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The metadata of one file system entry that a remap may change, read and written exactly."""

from __future__ import annotations

import base64
import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from libvirt_static_ids.files import acl, libvirt_xattrs

# chown drops file capabilities by itself (like setuid/setgid): read, journaled and set again.
CAPABILITY = "security.capability"
RELEVANT_XATTRS = frozenset((*acl.NAMES, *libvirt_xattrs.NAMES, CAPABILITY))
_SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID


@dataclass(frozen=True)
class Metadata:
    """Owner, group, mode and the relevant xattrs (name, value), sorted by name."""

    uid: int
    gid: int
    mode: int
    xattrs: tuple[tuple[str, bytes], ...] = ()

    def xattr(self, name: str) -> bytes | None:
        return dict(self.xattrs).get(name)

    def with_xattrs(self, values: dict[str, bytes]) -> Metadata:
        return replace(self, xattrs=tuple(sorted(values.items())))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"uid": self.uid, "gid": self.gid, "mode": self.mode}
        if self.xattrs:
            data["xattrs"] = {n: base64.b64encode(v).decode() for n, v in self.xattrs}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Metadata:
        xattrs = {n: base64.b64decode(v) for n, v in data.get("xattrs", {}).items()}
        return cls(
            int(data["uid"]), int(data["gid"]), int(data["mode"]), tuple(sorted(xattrs.items()))
        )


def relevant_xattr_names(path: bytes, mode: int, *, follow_symlinks: bool = False) -> list[str]:
    """Names of the xattrs we may remap. Symlinks carry no ACL and libvirt labels none.

    ``follow_symlinks`` is for ``resolve.Opened.path``, which must be followed to reach the
    opened entry (and reaches exactly it). Only "not supported here" means none: any other
    error is raised, never taken for "nothing to remap".
    """
    if stat.S_ISLNK(mode):
        return []
    try:
        names = os.listxattr(path, follow_symlinks=follow_symlinks)
    except OSError as error:
        if error.errno == errno.ENOTSUP:
            return []
        raise
    return [name for name in names if name in RELEVANT_XATTRS]


def read(path: bytes, st: os.stat_result, *, follow_symlinks: bool = False) -> Metadata:
    """The entry's metadata now; ``st`` is its lstat."""
    names = relevant_xattr_names(path, st.st_mode, follow_symlinks=follow_symlinks)
    return read_with(path, st.st_uid, st.st_gid, st.st_mode, names, follow_symlinks=follow_symlinks)


def read_with(
    path: bytes, uid: int, gid: int, mode: int, names: list[str], *, follow_symlinks: bool = False
) -> Metadata:
    """Metadata from what a walk already knows, plus the values of the xattrs ``names``."""
    values = {}
    for name in names:
        try:
            values[name] = os.getxattr(path, name, follow_symlinks=follow_symlinks)
        except OSError as error:
            if error.errno != errno.ENODATA:
                raise
    return Metadata(uid, gid, mode, tuple(sorted(values.items())))


def write(
    path: bytes, current: Metadata, target: Metadata, *, follow_symlinks: bool = False
) -> None:
    """Move an entry from ``current`` to ``target`` metadata, never following a symlink.

    chown clears setuid/setgid bits and file capabilities, so the mode is set again after it
    and the capability with the other xattrs; ACLs go last because chmod rewrites the ACL mask.
    ``follow_symlinks`` is for ``resolve.Opened.path`` (see ``relevant_xattr_names``): only
    there is the mode of a non-symlink changed without a chance of following one.
    """
    is_link = stat.S_ISLNK(current.mode)
    if (current.uid, current.gid) != (target.uid, target.gid):
        os.chown(path, target.uid, target.gid, follow_symlinks=follow_symlinks)
        if not is_link and current.mode & _SPECIAL_BITS:
            mode = os.stat(path, follow_symlinks=follow_symlinks).st_mode
            current = replace(current, mode=mode)
        if not is_link and current.xattr(CAPABILITY) is not None:
            kept = tuple(item for item in current.xattrs if item[0] != CAPABILITY)
            current = replace(current, xattrs=kept)
    if not is_link and stat.S_IMODE(current.mode) != stat.S_IMODE(target.mode):
        os.chmod(path, stat.S_IMODE(target.mode))
    old, new = dict(current.xattrs), dict(target.xattrs)
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            os.removexattr(path, name, follow_symlinks=follow_symlinks)
        elif old.get(name) != new[name]:
            os.setxattr(path, name, new[name], follow_symlinks=follow_symlinks)
