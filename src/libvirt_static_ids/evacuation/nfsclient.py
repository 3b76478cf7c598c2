# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Files named by ``nfs://`` URLs, reached through libnfs with the caller's numeric identity.

Where no kernel NFS mount is at hand (or to ask the server itself, not a mount's cache), this
speaks NFS directly: every RPC carries the uid, gid and groups of the process (as a kernel
mount would), so root is squashed by a root_squash export and a child that switched to a
file's owner acts as that owner. Only what the bridge and the probe need: stat, chmod, chown
and opening read-write. libnfs (``libnfs13``) is loaded when first used.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from libvirt_static_ids.errors import UsageError

SCHEME = "nfs://"
_TIMEOUT_MS = 15000
_MAX_AUTH_GROUPS = 16  # AUTH_SYS carries at most 16 supplementary GIDs
_IDENTITY_PARAMS = ("uid", "gid")


class _Url(ctypes.Structure):
    _fields_ = (("server", ctypes.c_char_p), ("path", ctypes.c_char_p), ("file", ctypes.c_char_p))


class _Stat(ctypes.Structure):
    _fields_ = tuple(
        (name, ctypes.c_uint64)
        for name in (
            "dev",
            "ino",
            "mode",
            "nlink",
            "uid",
            "gid",
            "rdev",
            "size",
            "blksize",
            "blocks",
            "atime",
            "mtime",
            "ctime",
            "atime_nsec",
            "mtime_nsec",
            "ctime_nsec",
            "used",
        )
    )


@dataclass(frozen=True)
class NfsStat:
    dev: int
    ino: int
    mode: int
    uid: int
    gid: int


_LIB: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _LIB  # noqa: PLW0603 - load libnfs once
    if _LIB is None:
        name = ctypes.util.find_library("nfs") or "libnfs.so.13"
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError as error:
            raise OSError(
                errno.ENOSYS, f"libnfs is not installed (Debian package libnfs13): {error}"
            ) from error
        lib.nfs_init_context.restype = ctypes.c_void_p
        lib.nfs_destroy_context.argtypes = (ctypes.c_void_p,)
        lib.nfs_get_error.restype = ctypes.c_char_p
        lib.nfs_get_error.argtypes = (ctypes.c_void_p,)
        lib.nfs_parse_url_full.restype = ctypes.POINTER(_Url)
        lib.nfs_parse_url_full.argtypes = (ctypes.c_void_p, ctypes.c_char_p)
        lib.nfs_destroy_url.argtypes = (ctypes.POINTER(_Url),)
        lib.nfs_set_timeout.argtypes = (ctypes.c_void_p, ctypes.c_int)
        lib.nfs_set_uid.argtypes = (ctypes.c_void_p, ctypes.c_int)
        lib.nfs_set_gid.argtypes = (ctypes.c_void_p, ctypes.c_int)
        lib.libnfs_authunix_create.restype = ctypes.c_void_p
        lib.libnfs_authunix_create.argtypes = (
            ctypes.c_char_p,
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.POINTER(ctypes.c_uint32),
        )
        lib.nfs_set_auth.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        lib.nfs_mount.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
        lib.nfs_stat64.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(_Stat))
        lib.nfs_chmod.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)
        lib.nfs_chown.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int)
        lib.nfs_open.argtypes = (
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_void_p),
        )
        lib.nfs_close.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        _LIB = lib
    return _LIB


def is_url(text: str) -> bool:
    return text.startswith(SCHEME)


def validate(url: str, option: str = "PATH") -> str:
    """The URL if we can use it; UsageError naming it otherwise. Asks no server."""
    parts = urlsplit(url)
    if parts.scheme != "nfs" or not parts.hostname or not parts.path.strip("/"):
        raise UsageError(f"{option} {url!r} is not nfs://SERVER/EXPORT/FILE", option=option)
    given = {key for key, _ in parse_qsl(parts.query)}
    taken = sorted(given & set(_IDENTITY_PARAMS))
    if taken:
        raise UsageError(
            f"{option} {url!r} sets {', '.join(taken)}: the identity comes from the process "
            "(root, or --uid/--gid), never from the URL",
            option=option,
        )
    return url


def server_path(url: str) -> tuple[str, str]:
    """(server, path on the server as the URL names it), for telling what to run where."""
    parts = urlsplit(url)
    return parts.hostname or "?", parts.path


class _Session:
    """One mounted libnfs context acting with the process's own numbers."""

    def __init__(self, handle: int, lib: ctypes.CDLL, file: bytes) -> None:
        self._handle = handle
        self._lib = lib
        self.file = file

    def _check(self, result: int, what: str) -> None:
        if result < 0:
            message = (self._lib.nfs_get_error(self._handle) or b"").decode(errors="replace")
            number = -result if -result in errno.errorcode else errno.EIO
            raise OSError(number, f"{what}: {message or os.strerror(number)}")

    def stat(self) -> NfsStat:
        result = _Stat()
        self._check(self._lib.nfs_stat64(self._handle, self.file, ctypes.byref(result)), "stat")
        return NfsStat(result.dev, result.ino, result.mode, result.uid, result.gid)

    def chmod(self, mode: int) -> None:
        self._check(self._lib.nfs_chmod(self._handle, self.file, stat.S_IMODE(mode)), "chmod")

    def chown(self, uid: int, gid: int) -> None:
        self._check(self._lib.nfs_chown(self._handle, self.file, uid, gid), "chown")

    def open_rw(self) -> None:
        """Open read-write and close again, writing nothing."""
        self._open(os.O_RDWR)

    def open_ro(self) -> None:
        """Open for reading and close again (a backing file, a read-only disk)."""
        self._open(os.O_RDONLY)

    def _open(self, flags: int) -> None:
        handle = ctypes.c_void_p()
        self._check(
            self._lib.nfs_open(self._handle, self.file, flags, ctypes.byref(handle)), "open"
        )
        self._lib.nfs_close(self._handle, handle)


@contextmanager
def session(url: str) -> Iterator[_Session]:
    """Mount the URL's export as this process's uid, gid and groups; OSError when that fails."""
    validate(url)
    lib = _lib()
    handle = lib.nfs_init_context()
    if not handle:
        raise OSError(errno.ENOMEM, "nfs_init_context failed")
    parsed = None
    try:
        lib.nfs_set_timeout(handle, _TIMEOUT_MS)
        parsed = lib.nfs_parse_url_full(handle, url.encode())
        if not parsed:
            message = (lib.nfs_get_error(handle) or b"").decode(errors="replace")
            raise OSError(errno.EINVAL, f"libnfs cannot parse {url!r}: {message}")
        uid, gid = os.getuid(), os.getgid()
        groups = [g for g in os.getgroups() if g != gid][:_MAX_AUTH_GROUPS]
        lib.nfs_set_uid(handle, uid)
        lib.nfs_set_gid(handle, gid)
        array = (ctypes.c_uint32 * max(len(groups), 1))(*groups)
        auth = lib.libnfs_authunix_create(b"libvirt-static-ids", uid, gid, len(groups), array)
        if auth:
            lib.nfs_set_auth(handle, auth)
        url_data = parsed.contents
        nfs = _Session(handle, lib, url_data.file or b"/")
        nfs._check(lib.nfs_mount(handle, url_data.server, url_data.path), f"mount {url}")
        yield nfs
    finally:
        if parsed:
            lib.nfs_destroy_url(parsed)
        lib.nfs_destroy_context(handle)
