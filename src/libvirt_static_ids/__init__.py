# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Move KVM hosts' libvirt-qemu account to one static UID/GID, journaled and undoable."""

from __future__ import annotations

__version__ = "0.1.0"
