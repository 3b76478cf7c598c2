# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Types of the C walk (``_walk.c``), which mypy cannot read."""

from typing import Self

# dev, ino, mode, nlink, uid, gid
Stat = tuple[int, int, int, int, int, int]

class Walk:
    def __init__(
        self,
        top: bytes,
        uids: list[int],
        gids: list[int],
        cross_filesystems: bool = False,
        all_entries: bool = False,
    ) -> None: ...
    @property
    def scanned(self) -> int: ...
    def __iter__(self) -> Self: ...
    # An entry that may need a change (with "carries an ACL or libvirt label xattr"), or one
    # that could not be read (with its errno).
    def __next__(self) -> tuple[bytes, Stat, bool] | tuple[bytes, None, int]: ...
