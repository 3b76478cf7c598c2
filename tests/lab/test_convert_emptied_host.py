# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``convert`` on the emptied host A, for real (usermod/groupmod on A's files, libvirtd
restarted), then live migration between A and B with no bridge at all."""

from __future__ import annotations

import os
from collections.abc import Callable

import libvirt
import pytest
from labcli import convert, evacuate

from libvirt_static_ids_testbed.lab import DYNAMIC, STATIC, Lab

pytestmark = pytest.mark.lab


def test_evacuate_convert_and_migrate_back_without_bridge(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    images = {name: lab.guest(a, "no_root_squash", name) for name in ("g1", "g2")}
    assert evacuate(a, b).returncode == 0
    assert a.passwd_numbers() == DYNAMIC
    convert(a)
    assert a.passwd_numbers() == STATIC
    for name, image in images.items():
        counter = b.counter(name)
        lab.migrate(b, a, name)
        assert a.is_running(name)
        assert a.counter(name) >= counter
        assert grows(a, name)
        st = os.stat(lab.backing(image))
        assert ((st.st_uid, st.st_gid), st.st_mode & 0o7777) == (STATIC, 0o600)
    lab.migrate(a, b, "g1")  # and on again: the two hosts are alike now
    assert grows(b, "g1")


@pytest.mark.parametrize("export", ["root_squash", "no_root_squash"])
def test_converted_host_takes_guests_without_bridge(
    lab: Lab, grows: Callable[..., bool], export: str
) -> None:
    """B's guests (images 64055:64055 0600, as after an evacuation) cannot come to the
    dynamic A; once A is converted they can, with nothing widened, in both export modes."""
    a, b = lab.host("hosta"), lab.host("hostb")
    image = lab.guest(b, export, "g1")
    with pytest.raises(libvirt.libvirtError):
        lab.migrate(b, a, "g1")
    assert grows(b, "g1")
    if export == "no_root_squash":  # A's libvirtd relabelled it for 109 and never put it back
        os.chown(lab.backing(image), *STATIC)  # undo that on the server
    convert(a)
    assert a.passwd_numbers() == STATIC
    counter = b.counter("g1")
    lab.migrate(b, a, "g1")
    assert a.counter("g1") >= counter
    assert grows(a, "g1")
    st = os.stat(lab.backing(image))
    assert ((st.st_uid, st.st_gid), st.st_mode & 0o7777) == (STATIC, 0o600)
