# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The root's passwd and group files, read strictly: every entry parsed, every defect kept.

A lenient reader skips what it cannot parse, and then a libvirt-qemu line with a bad field
looks absent, a second libvirt-qemu group goes unseen and a NIS ``+`` line holding a number is
ignored. Here each of them is a defect the survey reports as a blocker, so nothing acts on a
database it could not read in full.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import MAX_ID

USER_FILE = "etc/passwd"
GROUP_FILE = "etc/group"
# Rewritten by usermod/groupmod too: they must be files if they exist, but may be absent.
SHADOW_FILES = ("etc/shadow", "etc/gshadow")
_PASSWD_FIELDS = 7
_GROUP_FIELDS = 4


class DefectKind(StrEnum):
    """What is wrong with the account database (each maps to a blocker code)."""

    FILE = "file"  # missing, not a regular file, or unreadable
    MALFORMED = "malformed"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Defect:
    kind: DefectKind
    message: str


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class Group:
    name: str
    gid: int


@dataclass(frozen=True)
class NisEntry:
    """A NIS ``+name:...`` line that sets a number itself (it holds that number)."""

    name: str
    number: int
    where: str  # "etc/passwd line 7"


@dataclass(frozen=True)
class AccountDatabase:
    users: tuple[User, ...] = ()
    groups: tuple[Group, ...] = ()
    nis_users: tuple[NisEntry, ...] = ()
    nis_groups: tuple[NisEntry, ...] = ()
    defects: tuple[Defect, ...] = field(default=())

    def find_user(self, name: str) -> User | None:
        return next((user for user in self.users if user.name == name), None)

    def find_group(self, name: str) -> Group | None:
        return next((group for group in self.groups if group.name == name), None)


def _number(text: str) -> int | None:
    """A UID/GID as the shadow tools store it: plain ASCII decimal, below (uid_t)-1."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def _placement_defect(root: HostRoot, relative: str) -> Defect | None:
    """A symlink anywhere on the way (``etc -> /etc``) would make ``usermod --prefix`` edit
    a file outside the root: the database must be the root's own files."""
    try:
        resolved = root.resolve(relative)
    except OSError as error:
        return Defect(DefectKind.FILE, f"/{relative} cannot be resolved ({error.strerror})")
    if resolved.links:
        followed = "; ".join(resolved.links)
        return Defect(DefectKind.FILE, f"/{relative} is reached through a symlink ({followed})")
    return None


def _lines(root: HostRoot, relative: str, defects: list[Defect]) -> Iterator[tuple[int, str]]:
    """The numbered lines of a regular file; anything else is a defect (never read)."""
    misplaced = _placement_defect(root, relative)
    if misplaced is not None:
        defects.append(misplaced)
        return
    try:
        # O_NOFOLLOW|O_NONBLOCK: a symlink swapped in is refused, a FIFO cannot hang the read.
        fd = os.open(
            root.join(relative), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        )
    except OSError as error:
        what = {errno.ELOOP: "is a symlink", errno.ENOENT: "does not exist"}.get(
            error.errno or 0, f"cannot be read ({error.strerror})"
        )
        defects.append(Defect(DefectKind.FILE, f"/{relative} {what}"))
        return
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        defects.append(Defect(DefectKind.FILE, f"/{relative} is not a regular file"))
        return
    with os.fdopen(fd, encoding="utf-8", errors="surrogateescape") as handle:
        try:
            yield from enumerate((raw.rstrip("\n") for raw in handle), start=1)
        except OSError as error:
            defects.append(Defect(DefectKind.FILE, f"/{relative} cannot be read ({error})"))


def _entries(
    root: HostRoot, relative: str, width: int, numeric: tuple[int, ...], defects: list[Defect]
) -> Iterator[tuple[str, list[str]]]:
    """(where, fields) of each well-formed local entry and each NIS line."""
    seen: dict[str, int] = {}
    for number, line in _lines(root, relative, defects):
        where = f"/{relative} line {number}"
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(":")
        if line.startswith(("+", "-")):
            if len(fields) > width:
                defects.append(Defect(DefectKind.MALFORMED, f"{where}: {len(fields)} fields"))
            else:
                yield where, fields
            continue
        problem = _malformed(fields, width, numeric)
        if problem:
            defects.append(Defect(DefectKind.MALFORMED, f"{where}: {problem}: {line!r}"))
            continue
        if fields[0] in seen:
            defects.append(
                Defect(
                    DefectKind.DUPLICATE,
                    f"{where}: {fields[0]!r} again (first on line {seen[fields[0]]})",
                )
            )
            continue
        seen[fields[0]] = number
        yield where, fields


def _malformed(fields: list[str], width: int, numeric: tuple[int, ...]) -> str | None:
    if len(fields) != width:
        return f"{len(fields)} fields, not {width}"
    if not fields[0]:
        return "no name"
    for index in numeric:
        if _number(fields[index]) is None:
            return f"{fields[index]!r} is not a number (0..{MAX_ID})"
    return None


def _nis(where: str, fields: list[str], number_field: int, defects: list[Defect]) -> list[NisEntry]:
    """A ``+name:...:N:...`` line holds N; ``+``, ``+@netgroup`` and ``-`` lines set none."""
    if not fields[0].startswith("+") or len(fields) <= number_field or not fields[number_field]:
        return []
    number = _number(fields[number_field])
    if number is None:
        defects.append(
            Defect(DefectKind.MALFORMED, f"{where}: {fields[number_field]!r} is not a number")
        )
        return []
    return [NisEntry(fields[0][1:], number, where)]


def read(root: HostRoot) -> AccountDatabase:
    """Every entry of the root's passwd and group, and everything wrong with them."""
    defects: list[Defect] = []
    users: list[User] = []
    groups: list[Group] = []
    nis_users: list[NisEntry] = []
    nis_groups: list[NisEntry] = []
    for where, fields in _entries(root, USER_FILE, _PASSWD_FIELDS, (2, 3), defects):
        if fields[0].startswith(("+", "-")):
            nis_users += _nis(where, fields, 2, defects)
        else:
            users.append(User(fields[0], int(fields[2]), int(fields[3]), fields[5]))
    for where, fields in _entries(root, GROUP_FILE, _GROUP_FIELDS, (2,), defects):
        if fields[0].startswith(("+", "-")):
            nis_groups += _nis(where, fields, 2, defects)
        else:
            groups.append(Group(fields[0], int(fields[2])))
    for relative in SHADOW_FILES:
        try:
            mode = os.lstat(root.join(relative)).st_mode
        except FileNotFoundError:
            continue
        except OSError as error:
            defects.append(Defect(DefectKind.FILE, f"/{relative} cannot be read ({error})"))
            continue
        misplaced = _placement_defect(root, relative)
        if misplaced is not None:
            defects.append(misplaced)
        elif not stat.S_ISREG(mode):
            defects.append(Defect(DefectKind.FILE, f"/{relative} is not a regular file"))
    return AccountDatabase(
        tuple(users), tuple(groups), tuple(nis_users), tuple(nis_groups), tuple(defects)
    )
