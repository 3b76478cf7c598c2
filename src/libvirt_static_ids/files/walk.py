# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Streaming walk of file trees: never follows a symlink, stays on one file system.

The walk itself is C (``_walk.c``): it looks at every entry, and hands Python only those that
may need a change. Memory is bounded by the tree's depth, not its size. Names are bytes
throughout, so newlines and invalid UTF-8 pass unharmed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from typing import NamedTuple

from libvirt_static_ids.files._walk import Walk

OnError = Callable[[bytes, OSError], None]


class Entry(NamedTuple):
    path: bytes
    device: int
    inode: int
    mode: int
    nlink: int
    uid: int
    gid: int
    has_xattrs: bool  # carries an ACL or a libvirt label xattr


class TreeWalk:
    """Entries under ``top`` (itself included, parents before children) that may need a change.

    Those are: owned by one of ``uids``, in one of ``gids``, or carrying an ACL or libvirt label
    xattr (``every_entry`` yields all). A symlink is yielded as itself and never entered,
    ``top`` included; entries on another file system are skipped unless ``cross_filesystems``.
    ``scanned`` counts every entry looked at so far.
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
        try:
            self._walker = Walk(top, list(uids), list(gids), cross_filesystems, every_entry)
        except OSError as error:
            self._report(top, error)

    @property
    def scanned(self) -> int:
        return self._walker.scanned if self._walker else 0

    def _report(self, path: bytes, error: OSError) -> None:
        if self._on_error:
            self._on_error(path, error)

    def __iter__(self) -> Iterator[Entry]:
        for path, st, extra in self._walker or ():
            if st is None:
                self._report(path, OSError(extra, os.strerror(extra)))
            else:
                yield Entry(path, *st, bool(extra))
