# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Read and change one bridged file's mode and ACL, as root or, where root is squashed, as owner.

On NFS with root_squash, root is nobody to the server: chmod and setfacl on a file root does
not own fail with EPERM. The file's owner may still change both, so the change is retried in a
child that switched to the owner's numbers. When that cannot work either (the owner is root,
or the change is a chown), the error says exactly which command must run where.
"""

from __future__ import annotations

import errno
import os
import shlex
import stat
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from libvirt_static_ids.evacuation import nfsclient
from libvirt_static_ids.evacuation.identity import run_as
from libvirt_static_ids.files import acl, metadata
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import Identity

SQUASHED = (errno.EPERM, errno.EACCES)
NO_ACL = (errno.EOPNOTSUPP, errno.ENOTSUP)


class ChangeRefused(OSError):
    """A change that neither root nor the owner may make here; ``advice`` says what to run where."""

    def __init__(self, number: int, message: str, advice: str) -> None:
        super().__init__(number, message)
        self.advice = advice


@dataclass(frozen=True)
class Located:
    """Where a path lives for the server: (server or None, path there)."""

    server: str | None
    path: str


def mount_of(path: str, mountinfo: str) -> tuple[str, str, str] | None:
    """(mount point, fstype, source) of the deepest mount holding ``path``."""
    best: tuple[str, str, str] | None = None
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        head, _, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if len(fields) < 5 or len(rest) < 2:
            continue
        point = fields[4].encode().decode("unicode_escape")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > len(best[0])):
            best = (point, rest[0], rest[1])
    return best


def locate(name: str, mountinfo: str = "/proc/self/mountinfo") -> Located:
    """The NFS server and its path for a file on an NFS mount or named by URL; else local."""
    if nfsclient.is_url(name):
        server, path = nfsclient.server_path(name)
        return Located(server, path)
    found = mount_of(name, mountinfo)
    if found and found[1].startswith("nfs") and ":" in found[2]:
        point, _, source = found
        server, _, export = source.partition(":")
        relative = os.path.relpath(name, point)
        return Located(server, os.path.normpath(os.path.join(export, relative)))
    return Located(None, name)


class Via(StrEnum):
    """Who changed a file: root, or (root refused by root_squash) the file's owner."""

    ROOT = "root"
    OWNER = "owner"


# libvirt's shared file systems (virFileIsSharedFSType), as /proc/self/mountinfo names them;
# FUSE counts only as GlusterFS or Quobyte (libvirt 9 looks at the subtype).
SHARED_FS = (
    "nfs",
    "nfs4",
    "gfs2",
    "ocfs2",
    "afs",
    "cifs",
    "smb3",
    "ceph",
    "gpfs",
    "beegfs",
    "fuse.glusterfs",
    "fuse.quobyte",
)


def where(name: str, command: str, mountinfo: str = "/proc/self/mountinfo") -> str:
    """``on NFS server S: CMD``, ``on the file server of MOUNT: CMD`` (another shared file
    system: root here is refused, its server's is not) or ``as root on this host: CMD``."""
    place = locate(name, mountinfo)
    text = command.replace("{path}", shlex.quote(place.path))
    if place.server:
        return f"on NFS server {place.server} (as root): {text}"
    found = mount_of(name, mountinfo)
    if found and found[1] in SHARED_FS:
        return f"on the file server of {found[0]} ({found[1]}, as its root): {text}"
    return f"as root on this host: {text}"


def set_command(current: Metadata, target: Metadata) -> str:
    """The shell command that moves ``current`` to ``target`` (for a human to run elsewhere)."""
    parts = []
    if (current.uid, current.gid) != (target.uid, target.gid):
        parts.append(f"chown {target.uid}:{target.gid} {{path}}")
    value = target.xattr(acl.ACCESS)
    if value is not None and value != current.xattr(acl.ACCESS):
        spec = ",".join(_acl_text(entry) for entry in acl.entries(value))
        parts.append(f"setfacl --set {spec} {{path}}")
    elif value is None and current.xattr(acl.ACCESS) is not None:
        parts.append("setfacl -b {path}")
    if value is None and stat.S_IMODE(current.mode) != stat.S_IMODE(target.mode):
        parts.append(f"chmod {stat.S_IMODE(target.mode):04o} {{path}}")
    return " && ".join(parts) or "true"


def _acl_text(entry: tuple[int, int, int]) -> str:
    tag, perm, ident = entry
    rights = "".join(c if perm & bit else "-" for c, bit in (("r", 4), ("w", 2), ("x", 1)))
    names = {
        acl.USER_OBJ: "u::",
        acl.USER: f"u:{ident}:",
        acl.GROUP_OBJ: "g::",
        acl.GROUP: f"g:{ident}:",
        acl.MASK: "m::",
        acl.OTHER: "o::",
    }
    return names[tag] + rights


# --- local files (and kernel NFS mounts) --------------------------------------------------------


def _apply_local(path: str, current: Metadata, target: Metadata) -> None:
    """Set the ACL before the mode when one is added: setfacl's own order, and a failure
    (EOPNOTSUPP) then leaves the file untouched."""
    raw = os.fsencode(path)
    new_acl = target.xattr(acl.ACCESS)
    if new_acl is not None and new_acl != current.xattr(acl.ACCESS):
        if (current.uid, current.gid) != (target.uid, target.gid):
            os.chown(raw, target.uid, target.gid)
        os.setxattr(raw, acl.ACCESS, new_acl)
        now = os.stat(raw).st_mode
        if stat.S_IMODE(now) != stat.S_IMODE(target.mode):
            os.chmod(raw, stat.S_IMODE(target.mode))
        return
    metadata.write(raw, current, target)


def _apply_local_json(path: str, current: dict[str, Any], target: dict[str, Any]) -> None:
    _apply_local(path, Metadata.from_json(current), Metadata.from_json(target))


def _read_local(path: str) -> tuple[Metadata, int, int]:
    raw = os.fsencode(path)
    st = os.stat(raw)
    return metadata.read(raw, st), st.st_dev, st.st_ino


def _acl_supported(path: str) -> bool:
    try:
        os.getxattr(os.fsencode(path), acl.ACCESS)
    except OSError as error:
        if error.errno in NO_ACL:
            return False
        if error.errno == errno.ENODATA:
            return True
        raise
    return True


# --- files named by nfs:// URLs ---------------------------------------------------------------


def _read_nfs(url: str) -> tuple[Metadata, int, int]:
    with nfsclient.session(url) as nfs:
        st = nfs.stat()
    return Metadata(st.uid, st.gid, st.mode), st.dev, st.ino


def _apply_nfs(url: str, current: dict[str, Any], target: dict[str, Any]) -> None:
    before, after = Metadata.from_json(current), Metadata.from_json(target)
    if after.xattr(acl.ACCESS) != before.xattr(acl.ACCESS):
        raise OSError(errno.EOPNOTSUPP, "POSIX ACLs cannot be set through nfs:// URLs")
    with nfsclient.session(url) as nfs:
        if (before.uid, before.gid) != (after.uid, after.gid):
            nfs.chown(after.uid, after.gid)
        if stat.S_IMODE(before.mode) != stat.S_IMODE(after.mode):
            nfs.chmod(stat.S_IMODE(after.mode))


# --- both ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgedFile:
    """A file the bridge widens: a local (or NFS-mounted) path, or an ``nfs://`` URL."""

    name: str

    @property
    def is_url(self) -> bool:
        return nfsclient.is_url(self.name)

    def read(self) -> tuple[Metadata, int, int]:
        """(metadata, device, inode) now; the stat is done as root."""
        return _read_nfs(self.name) if self.is_url else _read_local(self.name)

    def acl_supported(self) -> bool:
        return False if self.is_url else _acl_supported(self.name)

    def apply(self, current: Metadata, target: Metadata) -> Via:
        """Move the file from ``current`` to ``target``; returns ``root`` or ``owner``.

        EPERM/EACCES as root (root_squash, or a process without CAP_FOWNER) is retried as the
        file's owner; what neither may do raises ChangeRefused with the command to run instead.
        """
        function = _apply_nfs if self.is_url else _apply_local_json
        try:
            function(self.name, current.to_json(), target.to_json())
            return Via.ROOT
        except OSError as error:
            if error.errno not in SQUASHED:
                raise
            first = error
        command = set_command(current, target)
        chown = (current.uid, current.gid) != (target.uid, target.gid)
        if chown:
            # Only the chown needs the server's root; the mode and ACL then go back by
            # themselves (the next close changes them as the new owner).
            command = f"chown {target.uid}:{target.gid} {{path}}"
        if chown or current.uid == 0:
            why = (
                "only root may chown, and root is refused here"
                if chown
                else "the file belongs to root, and root is refused here"
            )
            raise ChangeRefused(
                first.errno or errno.EPERM,
                f"{first.strerror or first}: {why} (NFS root_squash?)",
                where(self.name, command),
            ) from first
        owner = Identity(current.uid, current.gid)
        try:
            run_as(owner, function, self.name, current.to_json(), target.to_json())
        except Exception as error:
            raise ChangeRefused(
                first.errno or errno.EPERM,
                f"refused as root ({first.strerror or first}) and as the owner {owner} ({error})",
                where(self.name, command),
            ) from error
        return Via.OWNER


def with_owner(meta: Metadata, uid: int, gid: int) -> Metadata:
    return replace(meta, uid=uid, gid=gid)
