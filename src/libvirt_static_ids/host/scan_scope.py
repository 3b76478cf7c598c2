# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""libvirt's own trees under a root, with their symlinks resolved inside the root.

The walk never follows a symlink, so a relocated ``var/lib/libvirt -> ../../srv/libvirt``
would be one entry scanned and every image left with the old numbers; and a path joined
naively under a mounted root follows an absolute link out of it into the running system.
Each tree is therefore resolved inside the root first and the resolution said; a tree whose
links lead nowhere is reported, so the preflight refuses instead of skipping it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from libvirt_static_ids.hostroot import CONVERT_SCOPE, HostRoot


@dataclass(frozen=True)
class ScanScope:
    tops: tuple[bytes, ...]  # what the walk starts from, no symlink in any of them
    notes: tuple[str, ...]  # how a symlinked tree was resolved
    unresolved: tuple[str, ...]  # trees whose symlinks lead nowhere inside the root


def libvirt_trees(root: HostRoot) -> ScanScope:
    tops: list[bytes] = []
    notes: list[str] = []
    unresolved: list[str] = []
    for relative in CONVERT_SCOPE:
        try:
            resolved = root.resolve(relative)
        except OSError as error:
            unresolved.append(f"/{relative} cannot be resolved inside the root: {error.strerror}")
            continue
        followed = "; ".join(resolved.links)
        if not resolved.exists:
            if resolved.links:
                unresolved.append(
                    f"/{relative} is reached through symlinks ({followed}) to "
                    f"{resolved.path}, which does not exist inside the root"
                )
            continue
        if resolved.links:
            notes.append(
                f"/{relative} is reached through a symlink ({followed}): "
                f"{resolved.path} is repaired in its place"
            )
        tops.append(os.fsencode(resolved.path))
    return ScanScope(tuple(tops), tuple(notes), tuple(unresolved))
