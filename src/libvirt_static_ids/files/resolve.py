# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Find a journaled entry again without following any symlink, and prove it is the same one.

A path from a walk or a journal is opened one name at a time, each directory relative to the
descriptor of the one before with ``O_PATH|O_NOFOLLOW``: a directory swapped for a symlink
since stops the lookup instead of leading out of the tree, and there is no PATH_MAX. The entry
itself is opened ``O_PATH|O_NOFOLLOW`` too and checked against the device, inode and type
journaled for it; every change is then made through that descriptor (``/proc/self/fd/N``,
which names exactly the opened inode and is never followed further), so nothing can swap the
entry between the check and the change.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from types import TracebackType

_DIRECTORY = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_ENTRY = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


def physical(path: bytes) -> bytes:
    """Where the entry ``path`` itself lives: its parents resolved, its last name not followed.

    This is the one time a path given by the user is resolved through symlinks; walks and
    changes use the result, which names no symlink on the way.
    """
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(head), tail) if tail else head


@dataclass(frozen=True)
class Opened:
    """An ``O_PATH`` descriptor of one entry and its fstat; ``path`` reaches exactly it."""

    fd: int
    st: os.stat_result

    @property
    def path(self) -> bytes:
        return b"/proc/self/fd/%d" % self.fd


class Resolver:
    """Opens entries by path, one name at a time, never following a symlink.

    The directories of the last lookup stay open, so entries of one directory (or of its
    neighbours) cost one ``openat`` each.
    """

    def __init__(self) -> None:
        self._chain: list[tuple[bytes, int]] = []  # (name, O_PATH fd), from the anchor down
        self._anchor: tuple[bool, int] | None = None  # (absolute, fd of "/" or of ".")

    def __enter__(self) -> Resolver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._truncate(0)
        if self._anchor is not None:
            os.close(self._anchor[1])
            self._anchor = None

    def _truncate(self, keep: int) -> None:
        while len(self._chain) > keep:
            os.close(self._chain.pop()[1])

    def _anchor_fd(self, absolute: bool) -> int:
        if self._anchor is None or self._anchor[0] != absolute:
            self.close()
            self._anchor = (absolute, os.open(b"/" if absolute else b".", _DIRECTORY))
        return self._anchor[1]

    def parent(self, path: bytes) -> tuple[int, bytes]:
        """The descriptor of ``path``'s directory (the resolver's: do not close it) and its name.

        Raises OSError (ELOOP or ENOTDIR when a directory on the way is no longer one).
        """
        names = [name for name in path.split(b"/") if name and name != b"."]
        if not names:
            raise OSError(errno.EINVAL, "names no entry below a directory", path)
        *directories, name = names
        fd = self._anchor_fd(path.startswith(b"/"))
        kept = 0
        for (cached, _), wanted in zip(self._chain, directories, strict=False):
            if cached != wanted:
                break
            kept += 1
        self._truncate(kept)
        if self._chain:
            fd = self._chain[-1][1]
        for directory in directories[kept:]:
            try:
                fd = os.open(directory, _DIRECTORY, dir_fd=fd)
            except OSError as error:
                raise OSError(error.errno, error.strerror, path) from None
            self._chain.append((directory, fd))
        return fd, name

    def open(self, path: bytes) -> Opened:
        """An ``O_PATH`` descriptor of the entry ``path`` itself (the caller closes it)."""
        directory, name = self.parent(path)
        fd = os.open(name, _ENTRY, dir_fd=directory)
        try:
            return Opened(fd, os.fstat(fd))
        except BaseException:
            os.close(fd)
            raise

    def open_journaled(self, path: bytes, device: int, inode: int, mode: int) -> Opened | str:
        """The entry at ``path`` if it is still the one journaled, else why it is not."""
        try:
            opened = self.open(path)
        except FileNotFoundError:
            return "removed since"
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                return "a directory on its path was replaced (by a symlink or a file) since"
            return error.strerror or str(error)
        st = opened.st
        if (st.st_dev, st.st_ino) != (device, inode):
            os.close(opened.fd)
            return "replaced by another file since"
        if stat.S_IFMT(st.st_mode) != stat.S_IFMT(mode):
            os.close(opened.fd)
            return "replaced by another kind of entry since"
        return opened
