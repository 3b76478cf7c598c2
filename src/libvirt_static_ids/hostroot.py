# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The host's file system root: ``/`` on a live host, a mounted or fake root elsewhere.

Every host path resolves under it, so the same code converts a live host or a test tree.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from libvirt_static_ids.errors import UsageError

STATE_DIR = "var/lib/libvirt-static-ids"
# What libvirt leaves owned by the QEMU user: images, nvram, save, snapshot, channel, logs.
CONVERT_SCOPE = ("var/lib/libvirt", "var/cache/libvirt/qemu", "var/log/libvirt/qemu")
# The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS).
_MAX_LINKS = 40


@dataclass(frozen=True)
class Resolved:
    """A root-relative path with every symlink in it followed as the host itself would."""

    path: str  # absolute, under the root
    links: tuple[str, ...]  # each symlink followed, as "var/lib/libvirt -> ../../srv/libvirt"
    exists: bool


@dataclass(frozen=True)
class HostRoot:
    path: str

    @classmethod
    def open(cls, path: str) -> HostRoot:
        if not path:
            raise UsageError("--root must name a directory", option="--root")
        real = os.path.abspath(path)
        if not os.path.isdir(real):
            raise UsageError(f"--root {path!r} is not a directory", option="--root")
        return cls(real)

    @classmethod
    def open_system(cls, path: str) -> HostRoot:
        """A root that holds a system: without etc/passwd it is a wrong or empty directory."""
        root = cls.open(path)
        if not os.path.lexists(root.join("etc/passwd")):
            raise UsageError(
                f"--root {path!r} is not a system root: it has no etc/passwd", option="--root"
            )
        return root

    @property
    def is_live(self) -> bool:
        """True when this is the running system's root: only then restart services."""
        return os.path.realpath(self.path) == "/"

    def join(self, relative: str) -> str:
        return os.path.join(self.path, relative.lstrip("/"))

    def join_bytes(self, relative: str) -> bytes:
        return os.fsencode(self.join(relative))

    def resolve(self, relative: str) -> Resolved:
        """Follow ``relative``'s symlinks inside the root, as the host sees them once booted:
        an absolute target starts again at the root, ``..`` never climbs above it.

        A missing component gives ``exists=False``; a loop or a non-directory raises OSError.
        """
        pending = [part for part in reversed(relative.split("/"))]
        done: list[str] = []
        links: list[str] = []
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            path = os.path.join(self.path, *done, part)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                return Resolved(os.path.join(path, *reversed(pending)), tuple(links), False)
            if not stat.S_ISLNK(mode):
                done.append(part)
                continue
            if len(links) == _MAX_LINKS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
            target = os.readlink(path)
            links.append(f"{'/'.join([*done, part])} -> {target}")
            if target.startswith("/"):
                done = []
            pending += reversed(target.split("/"))
        return Resolved(os.path.join(self.path, *done), tuple(links), True)

    def inside(self, path: str, option: str) -> str:
        """``path`` made absolute, if it lies in the root; else UsageError naming it.

        Its parent directories are resolved as the kernel will (the entry itself is not
        followed: a symlink given as PATH is changed itself), so neither ``..`` nor a
        symlinked parent leads out of the root.
        """
        absolute = os.path.abspath(path)
        real_root = os.path.realpath(self.path)
        parent, name = os.path.split(absolute)
        real = os.path.join(os.path.realpath(parent), name) if absolute != self.path else real_root
        if real != real_root and not real.startswith(real_root.rstrip("/") + "/"):
            shown = f" (it resolves to {real!r})" if real != absolute else ""
            raise UsageError(
                f"{option} {path!r} is outside --root {self.path!r}{shown}: nothing was changed",
                option=option,
            )
        return absolute
