# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Shared storage with NFSv3/AUTH_SYS's numeric rules, as a FUSE file system over a directory.

There is no kernel NFS client here, and libvirt refuses to live-migrate from a plain directory.
This file system stands where an NFS mount would: every request runs with the caller's numeric
fsuid/fsgid/groups (so the backing directory's modes and POSIX ACLs decide, and a non-zero fsuid
loses root's override), root is squashed to 65534 with ``--root-squash``, xattrs are ENOTSUP (an
NFSv3 client offers none), nothing is cached, and every READ/WRITE re-checks access with the
opener's credentials (an NFSv3 server has no open: it decides each request). Mounted with
``subtype=glusterfs`` so libvirt 9.0's shared-file-system test counts it as shared.

    python -m libvirt_static_ids_testbed.lab.nfsfs [--root-squash] BACKING MOUNTPOINT

Runs in the foreground until unmounted or killed; each lab host mounts its own client, so two
hosts are two NFS clients of one server (the backing directory). tests/lab/test_storage.py
checks that it decides an identity/mode/owner matrix as the real nfs-ganesha does.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import mfusepy

NOBODY = 65534
_T = TypeVar("_T")
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Credentials:
    """AUTH_SYS as the server sees it: uid, gid and supplementary groups, squashed if asked."""

    uid: int
    gid: int
    groups: tuple[int, ...]

    def squashed(self) -> Credentials:
        uid = NOBODY if self.uid == 0 else self.uid
        gid = NOBODY if self.uid == 0 or self.gid == 0 else self.gid
        groups = tuple(g for g in self.groups if g != 0) if self.uid == 0 else self.groups
        return Credentials(uid, gid, () if self.uid == 0 else groups)


def _groups_of(pid: int) -> tuple[int, ...]:
    """The caller's supplementary groups (FUSE passes only uid, gid and the thread's id)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Groups:"):
                    return tuple(int(g) for g in line.split()[1:])
    except OSError:
        pass
    return ()


@contextmanager
def _as(creds: Credentials) -> Iterator[None]:
    """Switch this (single) thread's file-system identity; capabilities follow fsuid."""
    os.setgroups(list(creds.groups))
    _libc.setfsgid(creds.gid)
    _libc.setfsuid(creds.uid)
    try:
        yield
    finally:
        _libc.setfsuid(0)
        _libc.setfsgid(0)
        os.setgroups([])


def _permits(path: str, mode: int) -> bool:
    """faccessat(AT_EACCESS): decided with the fsuid/fsgid/groups now in force, ACLs included."""
    return os.access(path, mode, effective_ids=True)


@dataclass
class _Open:
    fd: int
    path: str
    creds: Credentials
    access: int  # os.R_OK | os.W_OK as opened


class NfsRules(mfusepy.Operations):
    """The operations; each one as the (squashed) caller on the backing directory."""

    use_ns = True

    def __init__(self, backing: str, *, root_squash: bool) -> None:
        self.backing = os.path.realpath(backing)
        self.root_squash = root_squash
        self.handles: dict[int, _Open] = {}
        self.next_handle = 1

    # -- identity ---------------------------------------------------------------------------
    def _caller(self) -> Credentials:
        uid, gid, pid = mfusepy.fuse_get_context()
        creds = Credentials(uid, gid, _groups_of(pid) if pid else ())
        return creds.squashed() if self.root_squash else creds

    def _real(self, path: str) -> str:
        return self.backing + path

    def _do(self, function: Callable[..., _T], *args: Any, creds: Credentials | None = None) -> _T:
        with _as(creds or self._caller()):
            return function(*args)

    # -- metadata ---------------------------------------------------------------------------
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        st = self._do(os.lstat, self._real(path))
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_ino", "st_blocks")
        attrs: dict[str, Any] = {key: getattr(st, key) for key in keys}
        for key in ("st_atime_ns", "st_mtime_ns", "st_ctime_ns"):
            attrs[key.removesuffix("_ns")] = getattr(st, key)
        return attrs

    def access(self, path: str, amode: int) -> int:
        if not self._do(_permits, self._real(path), amode):
            raise OSError(errno.EACCES, "access denied")
        return 0

    def chmod(self, path: str, mode: int) -> int:
        self._do(os.chmod, self._real(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        self._do(os.lchown, self._real(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        if times is None:
            self._do(os.utime, self._real(path))
        else:
            self._do(lambda p: os.utime(p, ns=times), self._real(path))
        return 0

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._do(os.truncate, self._real(path), length)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._real(path))
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree")
        return {key: getattr(st, key) for key in keys} | {"f_namemax": st.f_namemax}

    # -- xattrs: none, as an NFSv3 client -----------------------------------------------------
    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        raise OSError(errno.ENOTSUP, "no xattrs over NFSv3")

    def setxattr(self, path: str, name: str, value: bytes, options: int, position: int = 0) -> int:
        raise OSError(errno.ENOTSUP, "no xattrs over NFSv3")

    def listxattr(self, path: str) -> list[str]:
        raise OSError(errno.ENOTSUP, "no xattrs over NFSv3")

    def removexattr(self, path: str, name: str) -> int:
        raise OSError(errno.ENOTSUP, "no xattrs over NFSv3")

    # -- names ------------------------------------------------------------------------------
    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *self._do(os.listdir, self._real(path))]

    def readlink(self, path: str) -> str:
        return self._do(os.readlink, self._real(path))

    def mkdir(self, path: str, mode: int) -> int:
        self._do(os.mkdir, self._real(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        self._do(os.rmdir, self._real(path))
        return 0

    def unlink(self, path: str) -> int:
        self._do(os.unlink, self._real(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._do(os.rename, self._real(old), self._real(new))
        return 0

    def symlink(self, target: str, source: str) -> int:
        self._do(os.symlink, source, self._real(target))
        return 0

    # -- data -------------------------------------------------------------------------------
    def _register(self, fd: int, path: str, creds: Credentials, flags: int) -> int:
        wanted = flags & os.O_ACCMODE
        access = {os.O_RDONLY: os.R_OK, os.O_WRONLY: os.W_OK}.get(wanted, os.R_OK | os.W_OK)
        handle = self.next_handle
        self.next_handle += 1
        self.handles[handle] = _Open(fd, self._real(path), creds, access)
        return handle

    def open(self, path: str, flags: int) -> int:
        creds = self._caller()
        flags &= ~(os.O_DIRECT | os.O_CREAT | os.O_EXCL)  # the backing I/O is buffered
        fd = self._do(os.open, self._real(path), flags, creds=creds)
        return self._register(fd, path, creds, flags)

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        creds = self._caller()
        flags = os.O_CREAT | os.O_EXCL | os.O_RDWR
        fd = self._do(os.open, self._real(path), flags, mode, creds=creds)
        return self._register(fd, path, creds, flags)

    def _checked(self, fh: int, access: int) -> _Open:
        """Every NFSv3 READ/WRITE is decided anew with the opener's credentials."""
        handle = self.handles[fh]
        if not self._do(_permits, handle.path, access, creds=handle.creds):
            raise OSError(errno.EACCES, "access denied")
        return handle

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(self._checked(fh, os.R_OK).fd, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return os.pwrite(self._checked(fh, os.W_OK).fd, data, offset)

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        os.fsync(self.handles[fh].fd)
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(self.handles.pop(fh).fd)
        return 0


def mount(backing: str, mountpoint: str, *, root_squash: bool) -> None:
    """Serve until unmounted: single-threaded (the identity switch is per process)."""
    name = "nfs-root_squash" if root_squash else "nfs-no_root_squash"
    mfusepy.FUSE(
        NfsRules(backing, root_squash=root_squash),
        mountpoint,
        foreground=True,
        nothreads=True,
        allow_other=True,
        fsname=name,
        subtype="glusterfs",
        attr_timeout=0,
        entry_timeout=0,
        negative_timeout=0,
        direct_io=True,
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="nfsfs", description=__doc__.split("\n")[0])
    parser.add_argument("--root-squash", action="store_true", help="map root to 65534")
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    args = parser.parse_args(argv)
    mount(args.backing, args.mountpoint, root_squash=args.root_squash)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
