# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The VM inventory a host records, taken from libvirt's test driver and real files.

Proves: every defined VM is listed with its UUID, memory and running state; only file disks
(not cdroms, not network disks) are images, each with the numeric owner, group, mode and
POSIX ACL the kernel reports (set with the real setfacl), read-only disks marked; an image
that cannot be read is recorded as an error, and its host is then left out of the plan; what
is recorded validates against the shipped inventory schema and reads back to the same
metadata; an unreachable libvirt is recorded as an error; a damaged inventory is refused
with the reason, never trusted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import cli_support
from libvirt_static_ids.files import acl
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.host import inventory
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import inventory as recorded
from libvirt_static_ids.plan import planner
from libvirt_static_ids.plan.model import Domain, Host, Options

from .plan_support import file_disk

libvirt = pytest.importorskip(
    "libvirt", reason="needs libvirt-python (pip, built against Debian libvirt-dev)"
)
SCHEMA = cli_support.validator("inventory.schema.json")
OLD = IdPair(5109, 5114)


@pytest.fixture
def images() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="inventory-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _file(directory: Path, name: str, uid: int, gid: int, mode: int) -> Path:
    path = directory / name
    path.write_bytes(b"disk")
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path


def test_inventory_of_a_host(images: Path, node):
    web = _file(images, "web.qcow2", OLD.uid, OLD.gid, 0o600)
    shared = _file(images, "shared.qcow2", 0, 0, 0o640)
    subprocess.run(["setfacl", "-m", f"u:{OLD.uid}:rw,g:{OLD.gid}:r", str(shared)], check=True)
    base = _file(images, "base.qcow2", 0, 0, 0o644)
    iso = _file(images, "install.iso", 0, 0, 0o644)
    network = (
        "      <disk type='network' device='disk'><source protocol='nbd' name='x'>"
        "<host name='127.0.0.1' port='10809'/></source><target dev='vdc'/></disk>"
    )
    cdrom = (
        f"      <disk type='file' device='cdrom'><source file='{iso}'/>"
        "<target dev='hdc'/><readonly/></disk>"
    )
    uri = node(
        "kvm1",
        [
            (
                "web",
                2048,
                [
                    file_disk(web, "vda"),
                    file_disk(base, "vdb", readonly=True),
                    network,
                    cdrom,
                ],
            ),
            ("db", 1024, [file_disk(shared, "vda"), file_disk(images / "gone.qcow2", "vdb")]),
        ],
    )
    conn = libvirt.open(uri)
    try:
        conn.lookupByName("db").destroy()  # defined, not running
        taken = inventory.collect(conn)
    finally:
        conn.close()
    SCHEMA.validate(taken)
    assert taken["version"] == 1 and taken["free_mib"] == 0  # the test driver has no free memory
    by_name = {vm["name"]: vm for vm in taken["vms"]}
    assert by_name["web"]["running"] and not by_name["db"]["running"]
    assert by_name["web"]["memory_mib"] == 2048
    assert [d["path"] for d in by_name["web"]["disks"]] == [str(web), str(base)]
    assert by_name["web"]["disks"][0] == {
        "path": str(web),
        "readonly": False,
        "uid": OLD.uid,
        "gid": OLD.gid,
        "mode": os.stat(web).st_mode,
    }
    assert by_name["web"]["disks"][1]["readonly"] is True
    shared_disk, gone = by_name["db"]["disks"]
    assert [tuple(e) for e in shared_disk["acl"]] == acl.entries(os.getxattr(shared, acl.ACCESS))
    assert gone == {"path": str(images / "gone.qcow2"), "readonly": False, "error": gone["error"]}
    assert gone["error"].startswith("ENOENT")
    # Encoded for LDAP and read back by the planner: the same numbers, mode and ACL.
    free, vms = recorded.parse("kvm1", inventory.encode(taken))
    assert free == 0
    web_vm = next(vm for vm in vms if vm.name == "web")
    assert web_vm.key == by_name["web"]["uuid"] and web_vm.running
    st = os.stat(web)
    assert web_vm.images[0].meta == Metadata(st.st_uid, st.st_gid, st.st_mode)
    db_vm = next(vm for vm in vms if vm.name == "db")
    assert db_vm.images[0].meta is not None
    assert db_vm.images[0].meta.xattr(acl.ACCESS) == os.getxattr(shared, acl.ACCESS)
    assert db_vm.images[1].meta is None
    # Had db been running, its unreadable image would keep its host out of the plan.
    running_db = replace(db_vm, running=True)
    domain = Domain(IdPair(64055, 64055), (Host("kvm1", OLD, free, (running_db,)),))
    made = planner.plan(domain, Options(honours_acls=True))
    assert "gone.qcow2 was unreadable when recorded" in dict(made.domain.unplanned)["kvm1"]


def test_an_unreachable_libvirt_is_recorded_as_an_error():
    taken = inventory.collect_from("test:///nonexistent/node.xml")
    SCHEMA.validate(taken)
    assert set(taken) == {"version", "error"}
    with pytest.raises(recorded.Unusable, match="could not take its inventory"):
        recorded.parse("kvm1", inventory.encode(taken))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "no VM inventory recorded"),
        ("{not json", "not JSON"),
        ("[]", "not a version 1 object"),
        ('{"version": 2, "vms": []}', "not a version 1 object"),
        ('{"version": 1, "free_mib": -5, "vms": []}', "free_mib -5"),
        ('{"version": 1, "free_mib": 5, "vms": {}}', "no list of VMs"),
        ('{"version": 1, "free_mib": 5, "vms": [{"memory_mib": 1}]}', "without a name"),
        (
            '{"version": 1, "free_mib": 5, "vms": [{"name": "a", "memory_mib": true}]}',
            "memory_mib True",
        ),
        (
            '{"version":1,"free_mib":5,"vms":[{"name":"a","memory_mib":1,"disks":[{"path":"/x",'
            '"uid":1,"gid":1,"mode":33152,"acl":[[1,6]]}]}]}',
            "is not a list of [tag, perm, id]",
        ),
        (
            '{"version":1,"free_mib":5,"vms":[{"name":"a","memory_mib":1,"disks":[{"path":"/x",'
            '"uid":"root","gid":1,"mode":33152}]}]}',
            "uid 'root'",
        ),
    ],
)
def test_a_damaged_inventory_is_refused_with_the_reason(text, reason):
    with pytest.raises(recorded.Unusable) as refused:
        recorded.parse("kvm1", text)
    assert reason in str(refused.value)


def test_an_oversized_inventory_is_recorded_as_an_error():
    huge = {"version": 1, "free_mib": 0, "total_mib": 0, "vms": [{"name": "x" * 600000}]}
    encoded = json.loads(inventory.encode(huge))
    assert encoded["error"].startswith("inventory of ") and "too big" in encoded["error"]
