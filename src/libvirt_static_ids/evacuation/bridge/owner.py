# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Whose numbers a bridged image must carry when its bridge closes: where does its VM run?

Taking the bridge away is safe only once the image's owner is the numbers of the QEMU that
uses it. After a migration that is the destination's (libvirt relabels there, or we chown:
"hand-over"); after a failed migration it is the source's again, even when the destination's
libvirt already re-owned the image (libvirt does not restore labels on a shared file system).
A close that cannot tell where the VM runs does not narrow the image at all.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import StaticIdsError
from libvirt_static_ids.host import hypervisor


class Owner(StrEnum):
    """What a close does with the image's owner."""

    KEEP = "keep"  # as it is now (a bridge opened by hand, no VM named)
    HAND_OVER = "hand-over"  # the bridge's numbers: the VM runs on the destination
    RESTORE = "restore"  # the owner before the bridge: the VM runs (again) here
    UNKNOWN = "unknown"  # the VM's whereabouts cannot be told: close nothing


def _active(uri: str, name: str) -> bool | None:
    """Is ``name`` running at ``uri``? None when libvirt there cannot be asked."""
    try:
        conn = hypervisor.connect(uri)
    except StaticIdsError:
        return None
    try:
        return hypervisor.is_running(conn, name)
    except hypervisor.libvirt_error():
        return None
    finally:
        conn.close()


def decide(params: dict[str, Any]) -> Owner:
    """The owner a close of a bridge with these run parameters gives its images.

    Bridges that evacuate opens record the VM, the source's URI (``connect``) and the
    destination's (``dest_uri``); a bridge opened by hand records at most the VM's name.
    """
    name, here, there = params.get("domain"), params.get("connect"), params.get("dest_uri")
    if not name or not here:
        return Owner.KEEP
    running_here = _active(here, name)
    if running_here:
        return Owner.RESTORE
    if running_here is None:
        return Owner.UNKNOWN
    if not there:
        return Owner.HAND_OVER
    running_there = _active(there, name)
    if running_there is None:
        return Owner.UNKNOWN
    return Owner.HAND_OVER if running_there else Owner.KEEP
