# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Streaming walk of file trees: never follows a symlink, stays on one file system.

The walk itself is C (``_walk.c``): it looks at every entry, and hands Python only those that
may need a change. Memory is bounded by the tree's depth, not its size. Names are bytes
throughout, so newlines and invalid UTF-8 pass unharmed. The top is resolved once (its
parents through symlinks, itself not: ``resolve.physical``) and entries are reported under
that physical path, which names no symlink, so they can be found again without following one.

``LIBVIRT_STATIC_IDS_WALK=fallback`` makes the walk list xattrs the way kernels before 6.13
need even where ``listxattrat`` exists: llistxattr of the bare name in a helper thread whose
own working directory (``unshare(CLONE_FS)``, so the process's stays put) is the entry's
directory, or of ``/proc/self/fd/DIR/NAME`` where a thread cannot have one.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Collection, Iterator
from typing import NamedTuple

from libvirt_static_ids.errors import UsageError
from libvirt_static_ids.files import resolve
from libvirt_static_ids.files._walk import Walk

OnError = Callable[[bytes, OSError], None]
WALK_VARIABLE = "LIBVIRT_STATIC_IDS_WALK"
_WALK_CHOICES = {"": True, "auto": True, "fallback": False}
# The C walk's code for a directory that another one replaced between its stat and its open.
_REPLACED = -1
# The C walk's xattr flags: an ACL or libvirt label; a file capability.
_RELEVANT, _CAPABILITY = 1, 2


def listxattrat_allowed() -> bool:
    """False when ``LIBVIRT_STATIC_IDS_WALK=fallback`` asks for the pre-6.13 way."""
    value = os.environ.get(WALK_VARIABLE, "")
    if value not in _WALK_CHOICES:
        raise UsageError(
            f"{WALK_VARIABLE}={value!r} is not one of: auto, fallback", variable=WALK_VARIABLE
        )
    return _WALK_CHOICES[value]


def _error(code: int) -> OSError:
    if code == _REPLACED:
        return OSError(errno.ESTALE, "replaced by another directory while being walked")
    return OSError(code, os.strerror(code))


class Entry(NamedTuple):
    path: bytes
    device: int
    inode: int
    mode: int
    nlink: int
    uid: int
    gid: int
    has_xattrs: bool  # carries an ACL or a libvirt label xattr
    has_capability: bool  # carries security.capability (which a chown drops)


class TreeWalk:
    """Entries under ``top`` (itself included, parents before children) that may need a change.

    Those are: owned by one of ``uids``, in one of ``gids``, or carrying an ACL or libvirt label
    xattr (``every_entry`` yields all). A symlink is yielded as itself and never entered,
    ``top`` included; entries on another file system are skipped unless ``cross_filesystems``.
    ``scanned`` counts every entry looked at so far. Paths are under ``resolve.physical(top)``.
    """

    def __init__(
        self,
        top: bytes,
        *,
        uids: Collection[int] = (),
        gids: Collection[int] = (),
        every_entry: bool = False,
        cross_filesystems: bool = False,
        on_error: OnError | None = None,
    ) -> None:
        self._on_error = on_error
        self._walker: Walk | None = None
        self._directory: int | None = None
        self._scanned = 0  # the count of a walk that is over
        self._listxattrat = False
        path = resolve.physical(top)
        listxattrat = listxattrat_allowed()
        try:
            with resolve.Resolver() as resolver:
                directory, name = resolver.parent(path)
                self._directory = os.dup(directory)  # the walk's, after the resolver is closed
            self._walker = Walk(
                self._directory,
                name,
                path,
                list(uids),
                list(gids),
                cross_filesystems,
                every_entry,
                listxattrat,
            )
            self._listxattrat = self._walker.listxattrat
        except OSError as error:
            self._close()
            self._report(path, error)

    def _close(self) -> None:
        if self._directory is not None:
            os.close(self._directory)
            self._directory = None

    @property
    def scanned(self) -> int:
        return self._walker.scanned if self._walker else self._scanned

    @property
    def uses_listxattrat(self) -> bool:
        """Whether xattrs are listed with listxattrat (else the /proc/self/fd fallback)."""
        return self._listxattrat

    def _report(self, path: bytes, error: OSError) -> None:
        if self._on_error:
            self._on_error(path, error)

    def __iter__(self) -> Iterator[Entry]:
        try:
            for path, st, extra in self._walker or ():
                if st is None:
                    self._report(path, _error(extra))
                else:
                    yield Entry(path, *st, bool(extra & _RELEVANT), bool(extra & _CAPABILITY))
        finally:
            if self._walker is not None:
                self._scanned = self._walker.scanned
                self._walker = None  # the C walk closes its directories
            self._close()
