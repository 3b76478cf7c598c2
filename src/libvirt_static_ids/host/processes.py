# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Processes by numeric UID, read from /proc.

``usermod --prefix`` skips its busy check, so ours must run against the machine's own /proc
whatever root is being converted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    pid: int
    name: str


def running_as(uid: int, proc: str = "/proc") -> list[Process]:
    """Every live process with ``uid`` as real, effective, saved or filesystem UID."""
    found = []
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "status"), encoding="utf-8", errors="replace") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:  # the process ended while we looked
            continue
        uids = {int(field) for field in status.get("Uid", "").split()}
        # A zombie holds no files and runs nothing; it only waits for its parent.
        if uid in uids and not status.get("State", "").strip().startswith("Z"):
            found.append(Process(int(entry.name), status.get("Name", "?").strip()))
    return sorted(found, key=lambda process: process.pid)
