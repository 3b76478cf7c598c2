# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What "changes nothing" compares: a host root's entries and its account files."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

# The tool's own state directory (journal, lock) is not part of the host it converts.
STATE = "var/lib/libvirt-static-ids"
ACCOUNT_FILES = ("etc/passwd", "etc/group", "etc/shadow", "etc/gshadow")


def host_state(snapshot: Callable[..., Any], root: str) -> tuple[Any, dict[str, bytes]]:
    """Every entry's owner, mode and xattrs, and the account files' contents."""
    files = {}
    for name in ACCOUNT_FILES:
        with open(os.path.join(root, name), "rb") as handle:
            files[name] = handle.read()
    return snapshot(root, exclude=[STATE]), files
