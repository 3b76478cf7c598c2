# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A bridge narrower than 0666 where the storage takes no ACLs (issue 11: "verify in the lab
before relying on it"): libvirt computes QEMU's supplementary groups from the destination's
group database each time it starts a QEMU, so a temporary membership of the destination's
``libvirt-qemu`` in a group carrying the source's GID, with the image 0660 (changed by its
owner: root is nobody under root_squash), lets the migration through; nobody else gains access.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import libvirt
import pytest

from libvirt_static_ids_testbed.lab import DYNAMIC, Lab

pytestmark = pytest.mark.lab


def test_group_membership_on_the_destination_bridges_root_squash_without_0666(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    uid, gid = DYNAMIC
    image = lab.guest(a, "root_squash", "g1")
    # The owner, not root, widens it through A's own mount (as the tool must under root_squash).
    owner = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    a.run([*owner, "chmod", "0660", image])
    with pytest.raises(libvirt.libvirtError, match="Permission denied"):
        lab.migrate(a, b, "g1")  # 0660 alone: B's QEMU is neither owner nor in group 114
    assert grows(a, "g1")
    b.run(["groupadd", "-g", str(gid), "lsi-bridge"])
    b.run(["gpasswd", "-a", "libvirt-qemu", "lsi-bridge"])
    lab.migrate(a, b, "g1")  # no libvirtd restart: the group list is read at QEMU start
    assert b.is_running("g1")
    assert grows(b, "g1")
    st = os.stat(lab.backing(image))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (*DYNAMIC, 0o660)  # never 0666
    qemu = b.run(["pgrep", "-u", "libvirt-qemu", "qemu-system"]).stdout.split()[0]
    groups = b.run(["grep", "^Groups:", f"/proc/{qemu}/status"]).stdout.split()[1:]
    assert str(gid) in groups
    # Someone else on either host still cannot read it.
    other = ["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "cat", image]
    assert b.run(other, check=False).returncode != 0
