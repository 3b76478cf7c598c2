# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Types of the C walk (``_walk.c``), which mypy cannot read."""

from typing import Self

# dev, ino, mode, nlink, uid, gid
Stat = tuple[int, int, int, int, int, int]

class Walk:
    # The top is the entry ``name`` of the directory ``dir_fd``, reported as ``path``.
    def __init__(
        self,
        dir_fd: int,
        name: bytes,
        path: bytes,
        uids: list[int],
        gids: list[int],
        cross_filesystems: bool = False,
        all_entries: bool = False,
        listxattrat: bool = True,
    ) -> None: ...
    @property
    def scanned(self) -> int: ...
    @property
    def listxattrat(self) -> bool: ...
    def __iter__(self) -> Self: ...
    # An entry that may need a change (with its xattr flags: 1 an ACL or libvirt label xattr,
    # 2 a file capability), or one that could not be read (with its errno; -1: a directory
    # replaced while being walked).
    def __next__(self) -> tuple[bytes, Stat | None, int]: ...
