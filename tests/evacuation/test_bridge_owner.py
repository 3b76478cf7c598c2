# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Whose numbers a closing bridge gives its images, asked of libvirt (its test driver holds
the domains; a URI that cannot be reached stands for a host that does not answer), and where
the chown must run when this host's root may not do it."""

from __future__ import annotations

from pathlib import Path

import pytest

from libvirt_static_ids.evacuation.bridge.owner import Owner, decide

pytest.importorskip(
    "libvirt", reason="needs libvirt-python (pip, built against Debian libvirt-dev)"
)

NODE = """<node>
  <domain type='test'><name>{name}</name><memory>524288</memory><os><type>hvm</type></os>
  </domain>
</node>"""
NOWHERE = "test:///nonexistent/node.xml"  # libvirt cannot open it: no answer


@pytest.fixture
def hosts(tmp_path: Path) -> dict[str, str]:
    """``with``: a host where the VM web runs; ``without``: one where it does not."""
    uris = {}
    for key, name in (("with", "web"), ("without", "other")):
        node = tmp_path / f"{key}.xml"
        node.write_text(NODE.format(name=name))
        uris[key] = f"test://{node}"
    return uris


@pytest.mark.parametrize(
    ("here", "there", "expected"),
    [
        ("with", "without", Owner.RESTORE),  # the migration failed: back to the source
        ("without", "with", Owner.HAND_OVER),  # it moved: the destination's numbers
        ("without", "without", Owner.KEEP),  # stopped everywhere: nobody needs a change
        ("without", None, Owner.HAND_OVER),  # a bridge by hand for a VM that left
        ("nowhere", "with", Owner.UNKNOWN),  # the source does not answer: narrow nothing
        ("without", "nowhere", Owner.UNKNOWN),  # nor does the destination
    ],
)
def test_the_vm_decides(hosts, here, there, expected):
    uris = {**hosts, "nowhere": NOWHERE}
    params = {"domain": "web", "connect": uris[here]}
    if there:
        params["dest_uri"] = uris[there]
    assert decide(params) == expected


def test_a_bridge_without_a_vm_keeps_the_owner():
    assert decide({"files": ["/x"]}) == Owner.KEEP
    assert decide({"domain": "web"}) == Owner.KEEP  # no source recorded (0.1.0's --vm)


def test_the_servers_command_names_the_path_on_the_export(tmp_path):
    """Under root_squash the chown must run on the NFS server, on its own path: the kernel
    mount's source (server:/export) maps the client's path there."""
    from libvirt_static_ids.evacuation.bridge.bridged_file import where

    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "24 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "36 24 0:50 / /var/lib/libvirt/images rw - nfs nas.example.org:/export/vms rw,vers=3\n"
        "37 24 0:51 / /srv/gluster rw - fuse.glusterfs gl:/vol rw\n"
    )
    command = "chown 64055:64055 {path}"
    assert where("/var/lib/libvirt/images/web/disk 1.qcow2", command, str(mountinfo)) == (
        "on NFS server nas.example.org (as root): chown 64055:64055 '/export/vms/web/disk 1.qcow2'"
    )
    assert where("/srv/gluster/x.img", command, str(mountinfo)) == (
        "on the file server of /srv/gluster (fuse.glusterfs, as its root): "
        "chown 64055:64055 /srv/gluster/x.img"
    )
    assert where("/home/x.img", command, str(mountinfo)) == (
        "as root on this host: chown 64055:64055 /home/x.img"
    )
