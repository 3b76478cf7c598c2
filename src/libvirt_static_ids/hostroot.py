# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The host's file system root: ``/`` on a live host, a mounted or fake root elsewhere.

Every host path resolves under it, so the same code converts a live host or a test tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from libvirt_static_ids.errors import UsageError

STATE_DIR = "var/lib/libvirt-static-ids"
# What libvirt leaves owned by the QEMU user: images, nvram, save, snapshot, channel, logs.
CONVERT_SCOPE = ("var/lib/libvirt", "var/cache/libvirt/qemu", "var/log/libvirt/qemu")


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

    @property
    def is_live(self) -> bool:
        """True when this is the running system's root: only then restart services."""
        return os.path.realpath(self.path) == "/"

    def join(self, relative: str) -> str:
        return os.path.join(self.path, relative.lstrip("/"))

    def join_bytes(self, relative: str) -> bytes:
        return os.fsencode(self.join(relative))
