# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The knowledge-base failure, on real libvirt: A (109:114) cannot live-migrate to B
(64055:64055) over NFS, and the guest keeps running on A."""

from __future__ import annotations

import os
from collections.abc import Callable

import libvirt
import pytest

from libvirt_static_ids_testbed.lab import DYNAMIC, STATIC, Lab

pytestmark = pytest.mark.lab


def test_root_squash_destination_qemu_cannot_open_the_image(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    image = lab.guest(a, "root_squash", "g1")
    with pytest.raises(libvirt.libvirtError, match="Permission denied"):
        lab.migrate(a, b, "g1")
    assert a.is_running("g1")
    assert grows(a, "g1")
    assert not b.is_running("g1")
    st = os.stat(lab.backing(image))
    # B's root is nobody on the export: its chown was refused, nothing changed.
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (*DYNAMIC, 0o600)


def test_no_root_squash_source_loses_the_image_at_switch_over(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    image = lab.guest(a, "no_root_squash", "g1")
    # The source QEMU cannot re-open the image at switch-over; which of the two libvirt
    # reports depends on timing. Under load libvirt's 'cont' can race QEMU's failing migration
    # ("Migration is not finalized yet") and leave the guest paused on A; resuming works.
    with pytest.raises(libvirt.libvirtError, match=r"migration out|Migration is not finalized"):
        lab.migrate(a, b, "g1")
    assert a.is_running("g1")  # active on A
    if a.virsh("domstate", "g1").stdout.strip() == "paused":
        a.virsh("resume", "g1")
    assert grows(a, "g1")
    assert not b.is_running("g1")
    st = os.stat(lab.backing(image))
    # B's libvirtd relabelled the image for itself and, the FS being shared, never put it back.
    assert (st.st_uid, st.st_gid) == STATIC
