# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Streaming walk of file trees: never follows a symlink, stays on one file system.

Memory is bounded by the tree's depth (one open directory per level), not by its size.
Names are bytes throughout, so newlines and invalid UTF-8 pass unharmed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator

OnError = Callable[[bytes, OSError], None]


def walk(
    top: bytes, *, cross_filesystems: bool = False, on_error: OnError | None = None
) -> Iterator[tuple[bytes, os.stat_result]]:
    """Yield (path, lstat) for ``top`` and everything below it, parents before children.

    A symlink is yielded as itself and never entered, ``top`` included. Entries on another
    file system are neither yielded nor entered unless ``cross_filesystems``.
    """
    try:
        top_stat = os.lstat(top)
    except OSError as error:
        if on_error:
            on_error(top, error)
        return
    yield top, top_stat
    if not stat.S_ISDIR(top_stat.st_mode):
        return
    device = top_stat.st_dev
    stack = [_open(top, on_error)]
    while stack:
        iterator = stack[-1]
        for entry in iterator:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as error:
                if on_error:
                    on_error(entry.path, error)
                continue
            if st.st_dev != device and not cross_filesystems:
                continue
            yield entry.path, st
            if stat.S_ISDIR(st.st_mode):
                stack.append(_open(entry.path, on_error))
                break
        else:
            stack.pop().close()


def _open(path: bytes, on_error: OnError | None) -> Iterator[os.DirEntry[bytes]]:
    try:
        return os.scandir(path)
    except OSError as error:
        if on_error:
            on_error(path, error)
        return _Empty()


class _Empty:
    """An exhausted directory iterator for directories we could not open."""

    def __iter__(self) -> _Empty:
        return self

    def __next__(self) -> os.DirEntry[bytes]:
        raise StopIteration

    def close(self) -> None:
        pass
