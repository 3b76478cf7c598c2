# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""libvirtd resolves qemu.conf's user to numbers once, at start: restart it, never reload."""

from __future__ import annotations

import subprocess

RESTART_LIBVIRTD = ["systemctl", "restart", "libvirtd.service"]


def restart_libvirtd() -> str | None:
    """Restart libvirtd; return why it failed, or None."""
    try:
        result = subprocess.run(RESTART_LIBVIRTD, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "systemctl not found: restart libvirtd by hand"
    if result.returncode != 0:
        return f"{' '.join(RESTART_LIBVIRTD)} failed: {result.stderr.strip()}"
    return None
