# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Value types for numeric IDs and their validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import UsageError

ACCOUNT_NAME = "libvirt-qemu"
MAX_ID = 4294967294
# nobody/nogroup (65534) and the 16-bit "invalid" ID (65535) must never become libvirt-qemu's.
RESERVED_IDS = frozenset({65534, 65535})


class Verdict(StrEnum):
    STATIC = "static"
    DYNAMIC = "dynamic"
    ABSENT = "absent"
    CONFLICT = "conflict"


@dataclass(frozen=True, order=True)
class IdPair:
    uid: int
    gid: int

    def __str__(self) -> str:
        return f"{self.uid}:{self.gid}"

    def as_dict(self) -> dict[str, int]:
        return {"uid": self.uid, "gid": self.gid}


DEFAULT_TARGET = IdPair(64055, 64055)


def parse_id(value: str | int, option: str) -> int:
    """Return ``value`` as a usable UID/GID, or raise UsageError naming option and value."""
    # Not stripped: " 64055" is a value someone typed wrong (or a script built wrong).
    text = str(value)
    if not (text.isascii() and text.isdigit()):  # int() would take "٣", and choke on "²"
        raise UsageError(f"{option} {value!r} is not a number (1..{MAX_ID})", option=option)
    number = int(text)
    if number == 0:
        raise UsageError(f"{option} 0 is root's ID and is refused", option=option)
    if number > MAX_ID:
        raise UsageError(f"{option} {number} is above {MAX_ID}", option=option)
    if number in RESERVED_IDS:
        raise UsageError(
            f"{option} {number} is reserved (65534 is nobody/nogroup, 65535 is invalid)",
            option=option,
        )
    return number


@dataclass(frozen=True)
class Identity:
    """Numeric credentials: UID, primary GID and supplementary GIDs (as NFS sees them)."""

    uid: int
    gid: int
    groups: tuple[int, ...] = field(default=())

    def __str__(self) -> str:
        extra = f" groups {','.join(map(str, self.groups))}" if self.groups else ""
        return f"uid {self.uid} gid {self.gid}{extra}"

    def as_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "gid": self.gid, "groups": list(self.groups)}

    @classmethod
    def parse(cls, uid: str, gid: str, groups: str | None = None) -> Identity:
        """From CLI text; a bad value raises UsageError naming it."""
        extra: list[int] = []
        for text in (groups or "").split(","):
            if text.strip():
                extra.append(parse_id(text, "--groups"))
        if groups is not None and not extra:
            raise UsageError(f"--groups {groups!r} names no group", option="--groups")
        return cls(parse_id(uid, "--uid"), parse_id(gid, "--gid"), tuple(dict.fromkeys(extra)))
