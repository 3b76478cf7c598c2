# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""evacuate against libvirt's test driver (domains with file, cdrom and network disks; real
images with real ACLs). The test driver cannot migrate: the one migrate call is replaced
through the documented seam (``evacuate(..., migrate=...)``) by a function that checks the
exact flags and URI and then does what a migration does to the source (the domain stops and is
undefined) and what the destination's libvirt does to the images (chown), or fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import opens_as
from libvirt_static_ids.evacuation import evacuate
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity
from libvirt_static_ids.journal.store import Store

libvirt = pytest.importorskip("libvirt")

SOURCE_UID, SOURCE_GID = 1101, 1102
TARGET = Identity(64055, 64055)
FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | (libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
)

NODE = """<node>
{domains}
</node>"""
DOMAIN = """  <domain type='test'>
    <name>{name}</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='{disk}'/><target dev='vda'/></disk>
      <disk type='file' device='cdrom'><source file='{iso}'/><target dev='hdc'/><readonly/></disk>
      <disk type='network' device='disk'>
        <source protocol='nbd' name='x'><host name='127.0.0.1' port='10809'/></source>
        <target dev='vdb'/>
      </disk>
    </devices>
  </domain>"""


@pytest.fixture
def world(shared_dir: Path, image, tmp_path: Path):
    iso = image(shared_dir, "install.iso", 0, 0, 0o644)
    disks = {
        name: image(shared_dir, f"{name}.qcow2", SOURCE_UID, SOURCE_GID, 0o600)
        for name in ("alpha", "beta", "gamma")
    }
    node = shared_dir / "node.xml"
    node.write_text(
        NODE.format(
            domains="\n".join(
                DOMAIN.format(name=name, disk=disk, iso=iso) for name, disk in disks.items()
            )
        )
    )
    root = tmp_path / "root"
    root.mkdir()
    return {"root": HostRoot.open(str(root)), "uri": f"test://{node}", "disks": disks, "iso": iso}


class FakeMigration:
    """Stands in for the single libvirt migrate call (see hypervisor.Migrate)."""

    def __init__(self, fail_for: str | None = None, relabel: bool = True) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.fail_for = fail_for
        self.relabel = relabel

    def __call__(self, domain, dest_uri: str, flags: int) -> None:
        self.calls.append((domain.name(), dest_uri, flags))
        images = hypervisor.images_of_xml(domain.XMLDesc(0))
        # While "migrating", the destination's QEMU (target numbers) must reach every image.
        assert all(opens_as(path, TARGET.uid, TARGET.gid) for path in images)
        if domain.name() == self.fail_for:
            raise hypervisor.libvirt_error()("Unable to migrate: connection refused")
        for path in images:
            if self.relabel:
                os.chown(path, TARGET.uid, TARGET.gid)
        domain.destroy()
        domain.undefine()


def _run(world, migration, **options):
    return evacuate.evacuate(
        world["root"],
        "kvm1",
        "kvm2",
        TARGET,
        connect_uri=world["uri"],
        migrate=migration,
        **options,
    )


def test_the_migrate_call_itself(world):
    """What the real call does: virsh migrate --live --persistent --undefinesource."""
    assert hypervisor.migrate_flags() == FLAGS
    assert evacuate.default_dest_uri("kvm2.example.org") == "qemu://kvm2.example.org/system"


def test_every_running_vm_moves_with_a_bridge_opened_and_closed(world):
    migration = FakeMigration(relabel=False)  # e.g. dynamic_ownership=0 on the target
    report = _run(world, migration)
    assert report.status == "evacuated"
    assert [d.status for d in report.domains] == ["migrated"] * 3
    assert migration.calls == [
        (name, "qemu://kvm2/system", FLAGS) for name in ("alpha", "beta", "gamma")
    ]
    for disk in world["disks"].values():
        st = os.stat(disk)
        # Handed over (what the destination's relabel would have done), bridge gone.
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (64055, 64055, 0o600)
        assert "system.posix_acl_access" not in os.listxattr(disk)
        assert opens_as(disk, TARGET.uid, TARGET.gid)
        assert not opens_as(disk, SOURCE_UID, SOURCE_GID)
    iso = os.stat(world["iso"])
    assert (iso.st_uid, iso.st_mode & 0o777) == (0, 0o644)
    runs = Store(world["root"]).runs()
    assert [r.kind for r in runs].count("bridge") == 3
    assert all(r.state == "rolled back" for r in runs if r.kind == "bridge")


def test_stops_at_the_first_failure_with_the_vm_still_running_here(world):
    migration = FakeMigration(fail_for="beta")
    report = _run(world, migration)
    assert report.status == "failed"
    assert [(d.name, d.status) for d in report.domains] == [
        ("alpha", "migrated"),
        ("beta", "failed"),
        ("gamma", "pending"),
    ]
    assert "connection refused" in report.domains[1].message
    beta = world["disks"]["beta"]
    st = os.stat(beta)
    assert (st.st_uid, st.st_mode & 0o7777) == (SOURCE_UID, 0o600)  # bridge closed again
    assert "system.posix_acl_access" not in os.listxattr(beta)
    assert [name for name, _, _ in migration.calls] == ["alpha", "beta"]


def test_dry_run_lists_and_changes_nothing(world):
    before = {p: os.stat(p).st_mode for p in world["disks"].values()}
    report = _run(world, FakeMigration(), dry_run=True)
    assert report.status == "would-evacuate"
    assert [(d.name, d.images) for d in report.domains] == [
        (name, [str(disk)]) for name, disk in world["disks"].items()
    ]
    assert {p: os.stat(p).st_mode for p in world["disks"].values()} == before
    assert Store(world["root"]).runs() == []


def test_a_storage_that_ignores_the_bridge_stops_before_migrating(world, monkeypatch):
    """The probe (as the target's numbers) must pass before the VM moves."""
    from libvirt_static_ids.evacuation import probe

    real = probe.probe

    def denying(identity, paths):
        report = real(identity, paths)
        return probe.ProbeReport(
            identity,
            tuple(probe.Verdict(v.path, False, "EACCES", "denied") for v in report.verdicts),
        )

    monkeypatch.setattr(probe, "probe", denying)
    migration = FakeMigration()
    report = _run(world, migration)
    assert report.status == "failed"
    assert migration.calls == []
    assert "--mode chmod" in report.domains[0].message


def test_cli_validates_and_dry_runs(evac, world):
    root = world["root"].path
    result = evac(
        "evacuate",
        "kvm1",
        "--to",
        "kvm2",
        "--uid",
        64055,
        "--gid",
        64055,
        "--connect",
        world["uri"],
        "--dry-run",
        root=root,
    )
    assert result.code == 0, result.out
    assert result.data["status"] == "would-evacuate"
    assert result.data["flags"] == FLAGS
    same = evac(
        "evacuate",
        "kvm1",
        "--to",
        "kvm1",
        "--uid",
        64055,
        "--gid",
        64055,
        "--connect",
        world["uri"],
        root=root,
    )
    assert same.code == 2
    bad = evac("evacuate", "kvm1", "--to", "a/b", "--uid", 1, "--gid", 1, root=root)
    assert bad.code == 2
    assert "'a/b'" in bad.data["error"]["message"]
